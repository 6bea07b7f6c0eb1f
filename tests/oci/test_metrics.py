"""The five size metrics from bytes alone (docs/oci.md); engines check them in tests/store."""

from __future__ import annotations

import pytest

from imagegolf.oci.build import build_image
from imagegolf.oci.gzip import gunzip
from imagegolf.oci.layer_read import classic_size, unpacked
from imagegolf.oci.metrics import size_metrics
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_read import TarRefused, read_tar
from imagegolf.platform import LINUX_AMD64

FILES = [
    TarEntry.directory("bin"),
    TarEntry.file("bin/prog", b"p" * 1000, 0o755),
    TarEntry.hardlink("bin/again", "bin/prog"),  # same inode: counted once
    TarEntry.symlink("prog", "bin/prog"),  # st_size = len("bin/prog")
    TarEntry.file("empty", b""),
    TarEntry.file("etc/.wh.gone", b""),  # a whiteout: 0
]


def test_classic_size_counts_inodes_once() -> None:
    assert classic_size(unpacked(FILES)) == 1000 + len("bin/prog")


@pytest.mark.parametrize("again", ["a", "./a", "/a", "a/"])
def test_a_path_written_twice_is_refused_however_spelled(again: str) -> None:
    # tar-split refuses some spellings, moby keeps the last of the others: no size is right.
    entries = [TarEntry.file("a", b"x" * 10), TarEntry.file(again, b"y" * 3)]
    with pytest.raises(TarRefused, match=r"entry 2 .* same path as entry 1"):
        classic_size(unpacked(entries))


def test_all_five_metrics_of_a_multi_file_image() -> None:
    image = build_image(FILES, LINUX_AMD64, cmd=["/prog"])
    metrics = size_metrics(image)
    tar = gunzip(image.layers[0])
    assert len(list(read_tar(tar))) == len(FILES)
    m, c, layer = len(image.manifest_bytes), len(image.config_bytes), len(image.layers[0])
    assert metrics.as_dict() == {
        "docker_classic": 1008,
        "containerd_content": m + c + layer,
        "podman": len(tar) + c + 2 * m,
        "registry_compressed": layer,
        "pull_bytes": m + c + layer,
    }


def test_an_index_counts_in_pull_bytes() -> None:
    import dataclasses

    image = build_image(FILES, LINUX_AMD64, cmd=["/prog"])
    through_index = dataclasses.replace(image, index=b"x" * 300)
    assert size_metrics(through_index).pull_bytes == size_metrics(image).pull_bytes + 300
