"""Read image sources into verified images: OCI layout dirs, oci-archive, dual and docker-archive tars."""

from __future__ import annotations

from pathlib import Path

from imagegolf.errors import BadInputError
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.docker_save import image_from_docker_manifest
from imagegolf.oci.image import Image
from imagegolf.oci.layout import DOCKER_MANIFEST_FILE, INDEX_FILE, OCI_LAYOUT_FILE, blob_path
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.oci.resolve import image_from_index
from imagegolf.platform import ANY, Wanted
from imagegolf.store.archive import ArchiveMembers, read_archive_bytes

OCI_DIR = "oci-dir"
OCI_ARCHIVE = "oci-archive"
DUAL_ARCHIVE = "dual-archive"
DOCKER_ARCHIVE = "docker-archive"


def detect_source_kind(path: str | Path, caps: Caps = DEFAULT_CAPS) -> str:
    """Which kind of image source ``path`` is: OCI_DIR, OCI_ARCHIVE, DUAL_ARCHIVE or DOCKER_ARCHIVE."""
    source = Path(path)
    if source.is_dir():
        if (source / OCI_LAYOUT_FILE).is_file() and (source / INDEX_FILE).is_file():
            return OCI_DIR
        raise BadInputError(f"{source} is a directory but not an OCI layout (no oci-layout and index.json)")
    if not source.exists():
        raise BadInputError(
            f"{source} does not exist", hint="give an image archive, an OCI layout or a reference"
        )
    return _archive_kind(ArchiveMembers(read_archive_bytes(source, caps), caps), source)


def read_source(path: str | Path, wanted: Wanted = ANY, caps: Caps = DEFAULT_CAPS) -> Image:
    """The verified image at ``path``; ``wanted`` chooses one from a multi-platform source."""
    source = Path(path)
    if source.is_dir():
        detect_source_kind(source, caps)
        return _read_oci_dir(source, wanted, caps)
    if not source.exists():
        detect_source_kind(source, caps)  # raises the clear "does not exist" error
    members = ArchiveMembers(read_archive_bytes(source, caps), caps)
    kind = _archive_kind(members, source)
    if kind == DOCKER_ARCHIVE:
        return image_from_docker_manifest(
            members.read(DOCKER_MANIFEST_FILE), members.read, wanted=wanted, caps=caps
        )

    def blob(descriptor: Descriptor) -> bytes:
        return members.read(blob_path(descriptor.digest))

    return image_from_index(members.read(INDEX_FILE), blob, wanted=wanted, caps=caps)


def _archive_kind(members: ArchiveMembers, source: Path) -> str:
    has_index = members.has(INDEX_FILE)
    has_docker = members.has(DOCKER_MANIFEST_FILE)
    if has_index and has_docker:
        return DUAL_ARCHIVE
    if has_index:
        return OCI_ARCHIVE
    if has_docker:
        return DOCKER_ARCHIVE
    raise BadInputError(f"{source} is a tar but holds neither index.json nor manifest.json")


def _read_oci_dir(root: Path, wanted: Wanted, caps: Caps) -> Image:
    real_root = root.resolve()

    def read_file(relative: str, cap: int) -> bytes:
        target = (root / relative).resolve()
        if real_root not in target.parents:
            raise BadInputError(f"{relative} in {root} points outside the layout")
        try:
            with target.open("rb") as handle:
                return handle.read(cap + 1)  # one byte past the cap is enough to see it is too long
        except FileNotFoundError:
            raise BadInputError(f"the OCI layout {root} has no {relative}") from None
        except OSError as error:
            raise BadInputError(f"cannot read {root / relative}: {error.strerror}") from None

    def blob(descriptor: Descriptor) -> bytes:
        return read_file(blob_path(descriptor.digest), descriptor.size)  # a longer blob fails verification

    index_json = read_file(INDEX_FILE, caps.index_bytes)
    check_cap(len(index_json), caps.index_bytes, f"the size of {INDEX_FILE}")
    return image_from_index(index_json, blob, wanted=wanted, caps=caps)
