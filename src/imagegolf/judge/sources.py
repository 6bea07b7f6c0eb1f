"""The fetch for local sources: image archives (dual, docker-archive, oci-archive) and OCI layouts."""

from __future__ import annotations

from pathlib import Path

from imagegolf.errors import ImagegolfError
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from imagegolf.store.read import read_source


class SourceNotFound(ImagegolfError):
    """A local source that does not exist: the fetch failed (PULL_FAILED), the bytes are not at fault."""


def local_fetch(source: str, wanted: Wanted) -> Image:
    """Read a local source into verified bytes (the ``Fetch`` seam for files and directories)."""
    path = Path(source)
    if not path.exists():
        raise SourceNotFound(f"no such file or directory: {source}")
    return read_source(path, wanted)
