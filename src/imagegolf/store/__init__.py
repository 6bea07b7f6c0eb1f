"""Adapter: images to and from files (OCI layout dirs, oci-archive, dual and docker-archive tars)."""

from __future__ import annotations

from imagegolf.store.read import (
    DOCKER_ARCHIVE,
    DUAL_ARCHIVE,
    OCI_ARCHIVE,
    OCI_DIR,
    detect_source_kind,
    read_source,
)
from imagegolf.store.write import dual_tar_bytes, write_dual_tar, write_oci_dir

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
