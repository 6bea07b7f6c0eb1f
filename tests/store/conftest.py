"""Store tests: images to load into real engines, and a fresh podman store for every test."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.build import build_image, build_record_image
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.layout import blob_path, layout_files, layout_index_json
from imagegolf.oci.manifest import build_index
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import LINUX_386, LINUX_AMD64
from tests.oci.payloads import TEENSY_EXIT_0

MULTI_NAME = "localhost/igtest/multi-platform:v1"
MULTI_FILES = [
    TarEntry.directory("bin"),
    TarEntry.file("bin/prog", TEENSY_EXIT_0 + bytes(1000), 0o755),
    TarEntry.hardlink("bin/again", "bin/prog"),
    TarEntry.symlink("prog", "bin/prog"),
    TarEntry.directory("etc"),
    TarEntry.file("etc/motd", b"hello\n" * 300, 0o644),
    TarEntry.file("etc/empty", b"", 0o644),
]


@pytest.fixture
def record_image() -> Image:
    """The record shape around a program that runs everywhere ia32 runs: exits 0."""
    return build_record_image(TEENSY_EXIT_0, LINUX_386)


@pytest.fixture(params=["compact", "standard"])
def multi_file_image(request: pytest.FixtureRequest) -> Image:
    """Several files, a directory, a hard link and a symlink, in either tar shape."""
    compact = request.param == "compact"
    return build_image(MULTI_FILES, LINUX_AMD64, cmd=["/prog"], compact_tar=compact, compress=compact)


@pytest.fixture
def multi_platform_tar(tmp_path: Path) -> tuple[Path, Image]:
    """An OCI archive whose index.json points at an index blob over 386 and amd64 images.

    Returns the archive and its amd64 image as read through the index (the host's platform).
    """
    images = [
        build_record_image(TEENSY_EXIT_0, LINUX_386),
        build_record_image(TEENSY_EXIT_0 + bytes(9), LINUX_AMD64),
    ]
    files = {path: data for image in images for path, data in layout_files(image, "unused").items()}
    entries = [
        Descriptor(media.OCI_MANIFEST, i.manifest_digest, len(i.manifest_bytes), platform=i.platform)
        for i in images
    ]
    index = build_index(entries)
    files[blob_path(Digest.of(index))] = index
    files["index.json"] = layout_index_json(Descriptor.of(media.OCI_INDEX, index), MULTI_NAME)
    path = tmp_path / "multi.tar"
    path.write_bytes(write_tar([TarEntry.file(name, data, 0o644) for name, data in files.items()]))
    return path, dataclasses.replace(images[1], index=index)

