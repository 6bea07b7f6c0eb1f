"""Adapter: images to and from files (OCI layout dirs, oci-archive, dual and docker-archive tars)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf import lazy

# Each name loads its module on first use (imagegolf/lazy.py): a build writes, it never reads.
if TYPE_CHECKING:
    from imagegolf.store.read import (
        DOCKER_ARCHIVE,
        DUAL_ARCHIVE,
        OCI_ARCHIVE,
        OCI_DIR,
        detect_source_kind,
        read_source,
    )
    from imagegolf.store.write import dual_tar_bytes, write_dual_tar, write_oci_dir

HOMES = {
    "DOCKER_ARCHIVE": "imagegolf.store.read",
    "DUAL_ARCHIVE": "imagegolf.store.read",
    "OCI_ARCHIVE": "imagegolf.store.read",
    "OCI_DIR": "imagegolf.store.read",
    "detect_source_kind": "imagegolf.store.read",
    "dual_tar_bytes": "imagegolf.store.write",
    "read_source": "imagegolf.store.read",
    "write_dual_tar": "imagegolf.store.write",
    "write_oci_dir": "imagegolf.store.write",
}
__getattr__ = lazy.exports(__name__, HOMES)

__all__ = [
    "DOCKER_ARCHIVE",
    "DUAL_ARCHIVE",
    "OCI_ARCHIVE",
    "OCI_DIR",
    "detect_source_kind",
    "dual_tar_bytes",
    "read_source",
    "write_dual_tar",
    "write_oci_dir",
]
