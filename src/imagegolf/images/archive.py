"""Where a built or pulled image is written: a dual tar (docker/podman load, ctr import, and an
oci-archive at once), or an OCI image layout directory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.oci.multi import ImageGroup

if TYPE_CHECKING:
    from pathlib import Path

    from imagegolf.store.write import PathT


def write_tar(
    image: ImageGroup, path: PathT, name: str, extra: Mapping[Digest, bytes] | None = None
) -> PathT:
    """``image`` (or images sharing an index) as a dual tar at ``path``, tagged ``name``; returns
    ``path`` as given (a build names it as a string: no pathlib to import, store/write.py)."""
    return store.write_dual_tar(image, path, name, extra=extra)


def write_layout(
    image: ImageGroup, directory: str | Path, name: str, extra: Mapping[Digest, bytes] | None = None
) -> Path:
    """``image`` written into (or added to) the OCI image layout at ``directory``."""
    return store.write_oci_dir(image, directory, name, extra=extra)


def tar_bytes(image: ImageGroup, name: str) -> bytes:
    """The dual tar's bytes, for an engine's load."""
    return store.dual_tar_bytes(image, name)
