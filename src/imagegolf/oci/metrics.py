"""The five "image size" numbers (docs/oci.md), computed from the image's bytes alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import LayerReading, read_layer
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps


@dataclass(frozen=True)
class SizeMetrics:
    docker_classic: int  # `docker images` SIZE on a classic overlay2 store
    containerd_content: int  # `ctr images ls` SIZE, Docker ≥ 29 CONTENT SIZE
    podman: int  # `podman images` SIZE
    registry_compressed: int  # Docker Hub / Quay: sum of the layer descriptor sizes
    pull_bytes: int  # every byte a pull transfers: index, manifest, config, layers

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def size_metrics(
    image: Image, readings: Sequence[LayerReading] | None = None, *, caps: Caps = DEFAULT_CAPS
) -> SizeMetrics:
    """All five metrics, from the layer ``readings`` when the caller has them (else read here).

    ``image`` should have passed ``validate_image`` (which returns the readings).
    """
    if readings is None:
        budget = Budget(caps)
        readings = [
            read_layer(blob, d.media_type, caps=caps, budget=budget)
            for d, blob in zip(image.manifest.layers, image.layers, strict=True)
        ]
    manifest = len(image.manifest_bytes)
    config = len(image.config_bytes)
    index = len(image.index or b"")
    stored = sum(len(layer) for layer in image.layers)
    return SizeMetrics(
        # overlay2 stores each layer in its own diff directory; the image is their sum.
        docker_classic=sum(reading.classic_size for reading in readings),
        # containerd counts every blob the image record reaches, the index included when present.
        containerd_content=index + manifest + config + stored,
        # containers/storage: uncompressed layer streams, the config, the manifest stored twice
        # (under "manifest" and "manifest-<digest>"), and the index when pulled through one.
        podman=sum(reading.tar_length for reading in readings) + config + 2 * manifest + index,
        registry_compressed=sum(d.size for d in image.manifest.layers),
        pull_bytes=index + manifest + config + stored,
    )
