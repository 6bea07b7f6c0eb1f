"""What is not an image: signatures, attestations, SBOMs and other OCI artifacts pushed beside one.

Pure: a tag name, or the bytes of a manifest (or index) and its media type, in; a reason a person
can read (for logs and the hook's reply) or None out. None means "not recognisably an artifact":
an image, or something broken the judge will refuse with its own reason.

Two kinds of evidence:

- **the tag's name**: cosign (and ko, for SBOMs) store the signature, attestations and SBOM of
  the image with digest ``sha256:<hex>`` under the tags ``sha256-<hex>.sig``, ``.att`` and
  ``.sbom`` of the same repository; the OCI 1.1 referrers tag schema (notation, oras, on a
  registry without the referrers API) keeps the referrers of ``sha256:<hex>`` as an index tagged
  ``sha256-<hex>``;
- **the manifest itself** (image-spec v1.1): a ``subject`` (a referrer: it is *about* another
  manifest), an ``artifactType``, or a config that is not an image config
  (``application/vnd.oci.empty.v1+json``, helm's chart config, cosign's …); a layer that is a
  signature, attestation or SBOM payload (cosign signs with an OCI image config and a
  ``simplesigning`` layer); and an index whose entries are all artifacts by their descriptors.

An index that also holds an image is not an artifact: ``docker buildx`` adds one attestation
manifest per image (platform ``unknown/unknown``, annotated ``vnd.docker.reference.type:
attestation-manifest``) to an index whose other entries are the images themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

from imagegolf.oci import media

OCI_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json"  # image-spec 1.1 rc, withdrawn
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_REFERENCE_TYPE = "vnd.docker.reference.type"  # buildx: "attestation-manifest"

SIDECAR_TAG = re.compile(r"sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?")
_SIDECAR_KIND = {"sig": "signature", "att": "attestations", "sbom": "SBOM"}

# Layer media types that carry a signature, an attestation or an SBOM, never a filesystem.
PAYLOAD_PREFIXES = (
    "application/vnd.dev.cosign.",  # simplesigning signatures, cosign's own artifacts
    "application/vnd.dev.sigstore.",  # sigstore bundles
    "application/vnd.dsse.",  # DSSE envelopes (cosign attestations)
    "application/vnd.in-toto",  # in-toto statements (buildx attestations)
    "application/vnd.cncf.notary.",  # notation signatures
    "application/vnd.cyclonedx",  # SBOMs
    "application/spdx",
    "text/spdx",
)

_MANIFESTS = media.MANIFESTS
_INDEXES = media.INDEXES


def sidecar_tag(tag: str) -> str | None:
    """Why a tag named like cosign's (or the OCI referrers tag schema's) is not an entry; else None."""
    found = SIDECAR_TAG.fullmatch(tag)
    if found is None:
        return None
    subject = f"sha256:{found.group(1)[:12]}…"
    suffix = found.group(2)
    if suffix is None:
        return f"the OCI referrers tag of {subject} (signatures and attestations of that image)"
    return f"cosign's {_SIDECAR_KIND[suffix]} tag of {subject} (.{suffix})"


def artifact_reason(raw: bytes, media_type: str = "") -> str | None:
    """Why this manifest or index is an artifact and not an image; None if it is not one.

    ``media_type`` is what the registry said (Content-Type); the document's own ``mediaType``
    is used when it says nothing useful. Unreadable bytes are None: not this function's verdict.
    """
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    declared = document.get("mediaType")
    kind = media_type if media_type in _MANIFESTS | _INDEXES | {OCI_ARTIFACT_MANIFEST} else declared
    if kind == OCI_ARTIFACT_MANIFEST:
        return f"an OCI artifact manifest ({_artifact_type(document) or 'no artifactType'})"
    own = _own_reason(document)
    if own:
        return own
    if kind in _INDEXES or (kind not in _MANIFESTS and isinstance(document.get("manifests"), list)):
        return _index_reason(document)
    if kind in _MANIFESTS or isinstance(document.get("config"), dict):
        return _manifest_reason(document)
    return None


def _own_reason(document: dict[str, Any]) -> str | None:
    """A manifest or an index that says it is an artifact: a subject, an artifactType."""
    subject = document.get("subject")
    artifact_type = _artifact_type(document)
    if isinstance(subject, dict):
        about = subject.get("digest")
        about = f"{about[:19]}…" if isinstance(about, str) and about else "another manifest"
        what = f" ({artifact_type})" if artifact_type else ""
        return f"an OCI referrer{what}: its subject is {about}"
    if artifact_type:
        return f"an OCI artifact: artifactType {artifact_type}"
    return None


def _manifest_reason(document: dict[str, Any]) -> str | None:
    config = document.get("config")
    if isinstance(config, dict):
        config_type = config.get("mediaType")
        if isinstance(config_type, str) and config_type not in media.CONFIGS:
            return f"an artifact, not an image: its config is {_short(config_type)}"
    layers = document.get("layers")
    for layer in layers if isinstance(layers, list) else ():
        layer_type = layer.get("mediaType") if isinstance(layer, dict) else None
        if isinstance(layer_type, str) and layer_type.startswith(PAYLOAD_PREFIXES):
            return f"a signature, attestation or SBOM, not an image: a layer is {_short(layer_type)}"
    return None


def _index_reason(document: dict[str, Any]) -> str | None:
    entries = document.get("manifests")
    if not isinstance(entries, list) or not entries:
        return None  # nothing to judge either way: the judge says what is wrong with it
    kinds = [_entry_reason(entry) for entry in entries]
    if not all(kinds):
        return None  # some entry may be an image
    named = ", ".join(sorted({str(k) for k in kinds}))
    count = len(entries)
    return f"an index of artifacts only ({count} {'entry' if count == 1 else 'entries'}: {named})"


def _entry_reason(entry: Any) -> str | None:
    """What an index entry's descriptor alone shows it to be, if not a (possible) image."""
    if not isinstance(entry, dict):
        return None
    artifact_type = entry.get("artifactType")
    if isinstance(artifact_type, str) and artifact_type:
        return _short(artifact_type)
    annotations = entry.get("annotations")
    if isinstance(annotations, dict):
        reference_type = annotations.get(DOCKER_REFERENCE_TYPE)
        if isinstance(reference_type, str) and reference_type:
            return reference_type
    platform = entry.get("platform")
    if isinstance(platform, dict) and (platform.get("os"), platform.get("architecture")) == (
        "unknown",
        "unknown",
    ):
        return "platform unknown/unknown"
    entry_type = entry.get("mediaType")
    if isinstance(entry_type, str) and entry_type not in _MANIFESTS | _INDEXES:
        return _short(entry_type)  # a blob (buildkit's cache lists layers), not a manifest
    return None


def _artifact_type(document: dict[str, Any]) -> str | None:
    value = document.get("artifactType")
    return _short(value) if isinstance(value, str) and value else None


def _short(text: str) -> str:
    """A media type from a stranger, fit for a log line."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 100 else text[:99] + "…"


__all__ = [
    "OCI_ARTIFACT_MANIFEST",
    "OCI_EMPTY",
    "PAYLOAD_PREFIXES",
    "SIDECAR_TAG",
    "artifact_reason",
    "sidecar_tag",
]
