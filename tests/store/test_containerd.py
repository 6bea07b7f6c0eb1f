"""containerd (its own instance, root, state and socket) imports our dual tar and agrees on size."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from tests.services import Containerd
from tests.store.conftest import MULTI_NAME

UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2}


def ctr_image_row(containerd: Containerd, name: str) -> tuple[str, float, int]:
    """(digest, size, unit) of ``name`` in `ctr images ls` (it prints sizes as "%.1f <unit>")."""
    for line in containerd.ctr("images", "ls").stdout.decode().splitlines()[1:]:
        ref, _type, digest, size, unit, *_ = line.split()
        if ref == name:
            return digest, float(size), UNITS[unit]
    raise AssertionError(f"{name} not in `ctr images ls`")


def assert_ctr_size(size: float, unit: int, expected: int) -> None:
    """Exact below 1 KiB; above, as exact as ctr's one decimal allows."""
    if unit == 1:
        assert size == expected
    else:
        assert abs(size - expected / unit) <= 0.05


@pytest.mark.parametrize("which", ["record", "multi"])
def test_ctr_import_and_content_size(
    containerd: Containerd, record_image: Image, multi_file_image: Image, tmp_path: Path, which: str
) -> None:
    image = record_image if which == "record" else multi_file_image
    name = f"localhost/igtest/ctr-{which}-{image.manifest_digest.short}:v1"
    archive = store.write_dual_tar(image, tmp_path / "img.tar", name)
    out = containerd.ctr("images", "import", str(archive)).stdout.decode()
    assert str(image.manifest_digest) in out  # imported under our digest, and unpacked
    digest, size, unit = ctr_image_row(containerd, name)
    assert digest == str(image.manifest_digest)
    assert_ctr_size(size, unit, size_metrics(image).containerd_content)


def test_ctr_counts_the_index_and_the_host_platform(
    containerd: Containerd, multi_platform_tar: tuple[Path, Image]
) -> None:
    path, amd64 = multi_platform_tar
    containerd.ctr("images", "import", str(path))
    digest, size, unit = ctr_image_row(containerd, MULTI_NAME)
    assert digest == str(Digest.of(amd64.index or b""))
    # 1,079 bytes shows as "1.1 KiB"; with the 386 image's blobs too it would show 1.6 KiB.
    assert_ctr_size(size, unit, size_metrics(amd64).containerd_content)
