"""The fetch for local sources: image archives (dual, docker-archive, oci-archive) and OCI layouts,
read by the one SOURCE resolver (images/source.py)."""

from __future__ import annotations

from imagegolf.images.source import SourceNotFound
from imagegolf.images.source import read_files as local_fetch

__all__ = ["SourceNotFound", "local_fetch"]
