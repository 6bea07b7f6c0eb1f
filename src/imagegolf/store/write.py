"""Write images to disk: an OCI layout directory, or the dual tar (OCI layout + docker manifest.json)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, OutputError
from imagegolf.oci import media
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.layout import INDEX_FILE, OCI_LAYOUT_FILE, layout_files, layout_index_json
from imagegolf.oci.manifest import build_index, parse_index
from imagegolf.oci.multi import ImageGroup, top_descriptor
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar

if TYPE_CHECKING:
    from pathlib import Path

# Start-up speed (bench/cli_speed.py): the dual tar, what `imagegolf build -o` writes, is written
# with os and os.path, and given back as it was named; pathlib (which imports urllib.parse and
# ipaddress, ~3 ms) is imported only to write a layout directory.
PathT = TypeVar("PathT", str, "Path")  # what the caller named the file with, given back


def dual_tar_bytes(image: ImageGroup, name: str, *, extra: Mapping[Digest, bytes] | None = None) -> bytes:
    """The dual archive as bytes: deterministic tar (sorted, mtime 0, uid/gid 0) of the layout files."""
    files = layout_files(image, name, docker_manifest=True, extra=extra)
    directories = {os.path.dirname(path) for path in files} - {""}
    directories |= {os.path.dirname(d) for d in directories} - {""}
    entries = [TarEntry.directory(d) for d in directories]
    entries += [TarEntry.file(path, data, 0o644) for path, data in files.items()]
    # Standard tar, not the compact one: this archive is read by tools other than Go's tar reader.
    return write_tar(entries)


def write_dual_tar(
    image: ImageGroup, path: PathT, name: str, *, extra: Mapping[Digest, bytes] | None = None
) -> PathT:
    """Write the dual archive to ``path`` (replacing it atomically); returns ``path`` as given."""
    target = os.fspath(path)
    _require_parent(target)
    directory, file_name = os.path.split(target)
    if os.path.isdir(target) or not file_name:
        raise OutputError(f"cannot write the archive to {target}: it is a directory", hint="name a .tar file")
    data = dual_tar_bytes(image, name, extra=extra)
    temporary = os.path.join(directory, f".{file_name}.part")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise OutputError(f"cannot write {target}: {error.strerror}") from None
    return path


def write_oci_dir(
    image: ImageGroup, path: str | Path, name: str, *, extra: Mapping[Digest, bytes] | None = None
) -> Path:
    """Write (or add to) an OCI layout directory; an image already there under ``name`` is replaced."""
    from pathlib import Path  # see PathT: only the layout directory needs it

    root = Path(path)
    _require_parent(root)
    if root.exists() and not root.is_dir():
        raise OutputError(f"cannot write an OCI layout to {root}: it is a file")
    if root.is_dir() and any(root.iterdir()) and not (root / OCI_LAYOUT_FILE).is_file():
        raise OutputError(
            f"{root} is not empty and not an OCI layout", hint="choose a new or empty directory"
        )
    files = layout_files(image, name, extra=extra)
    files[INDEX_FILE] = _merged_index(root / INDEX_FILE, image, name)
    try:
        for relative, data in sorted(files.items()):
            destination = root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
    except OSError as error:
        raise OutputError(f"cannot write the OCI layout {root}: {error.strerror}") from None
    return root


def _merged_index(index_path: Path, image: ImageGroup, name: str) -> bytes:
    """Our index.json entry, plus the entries of an existing layout that name other images."""
    ours = parse_index(layout_index_json(top_descriptor(image), name)).manifests[0]
    if not index_path.is_file():
        return build_index([ours])
    try:
        existing = parse_index(index_path.read_bytes())
    except (OSError, BadInputError) as error:
        raise OutputError(f"cannot add to {index_path}: {error}") from None
    our_name = ours.annotation(media.ANNOTATION_CONTAINERD_NAME)
    kept: list[Descriptor] = [
        d for d in existing.manifests if d.annotation(media.ANNOTATION_CONTAINERD_NAME) != our_name
    ]
    return build_index([*kept, ours])


def _require_parent(path: str | os.PathLike[str]) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write {path}: directory {parent} does not exist", hint="create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {parent} is not writable")
