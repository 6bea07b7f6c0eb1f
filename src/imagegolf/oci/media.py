"""Media types imagegolf writes or accepts (OCI image-spec v1.1, Docker image manifest v2.2)."""

from __future__ import annotations

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})
LAYERS_PLAIN = frozenset({OCI_LAYER, DOCKER_LAYER})
LAYERS_GZIP = frozenset({OCI_LAYER_GZIP, DOCKER_LAYER_GZIP})
# zstd and zstd:chunked (the same media type, with annotations and skippable frames); Docker's
# schema 2 has no zstd type. Engines older than Docker 23 cannot unpack them (judge/runner.py).
LAYERS_ZSTD = frozenset({OCI_LAYER_ZSTD})
LAYERS = LAYERS_PLAIN | LAYERS_GZIP | LAYERS_ZSTD

# OCI image layout (image-spec layout.md) and the annotations that name an image in index.json.
LAYOUT_VERSION = "1.0.0"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
