"""The layer reader applies the engines' unpacking rules and refuses what they would unpack two ways."""

from __future__ import annotations

import hashlib

import pytest

from imagegolf.errors import LimitExceededError
from imagegolf.oci import media
from imagegolf.oci.gzip import gzip_bytes
from imagegolf.oci.layer_read import classic_size, read_layer, unpacked
from imagegolf.oci.limits import Budget, Caps
from imagegolf.oci.tar_entry import DIRECTORY, FILE, HARDLINK, OPAQUE, SYMLINK, WHITEOUT, TarEntry
from imagegolf.oci.tar_read import TarRefused
from imagegolf.oci.tar_write import write_tar

F = TarEntry.file
D = TarEntry.directory
S = TarEntry.symlink
L = TarEntry.hardlink


def read(*entries: TarEntry) -> list[tuple[str, str]]:
    return [(e.path, e.kind) for e in unpacked(entries)]


def refused(*entries: TarEntry, words: tuple[str, ...]) -> None:
    with pytest.raises(TarRefused) as caught:
        read(*entries)
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_names_are_cleaned_like_filepath_clean_relative_to_the_root() -> None:
    assert read(D("./"), D("./a/"), F("/a//b", b""), F("./c/./d", b"")) == [
        ("a", DIRECTORY), ("a/b", FILE), ("c/d", FILE)
    ]  # fmt: skip


@pytest.mark.parametrize("again", ["p", "./p", "/p", "p/", "p//"])
def test_two_entries_that_clean_to_one_path_are_refused(again: str) -> None:
    refused(D("p"), D(again), words=("entry 2", f"(`{again}`)", "same path as entry 1 (`p`)"))


def test_a_root_entry_that_is_not_a_directory_is_refused() -> None:
    refused(F("./", b""), words=("layer's root",))


def test_nothing_may_sit_under_a_non_directory_of_the_same_layer() -> None:
    refused(F("a", b"1"), F("a/b", b"2"), words=("entry 2 (`a/b`) lies under /a", "file"))
    refused(S("a", "/etc"), F("a/passwd", b"2"), words=("lies under /a", "symlink"))


def test_a_non_directory_may_not_replace_a_directory_holding_entries() -> None:
    # moby removes the directory with what this layer put in it: the first file is gone.
    refused(F("a/big", b"x" * 1000), F("a", b"1"), words=("replaces the directory holding entry 1",))
    assert read(F("a/big", b""), D("a")) == [("a/big", FILE), ("a", DIRECTORY)]  # directories merge


def test_hard_links_must_name_a_file_earlier_in_the_same_layer() -> None:
    assert read(F("f", b"x"), L("g", "f"), L("h", "./g")) == [("f", FILE), ("g", HARDLINK), ("h", HARDLINK)]
    refused(L("g", "f"), F("f", b"x"), words=("hard link to /f", "not a file earlier"))
    refused(D("d"), L("g", "d"), words=("hard link to /d",))
    refused(S("s", "x"), L("g", "s"), words=("hard link to /s",))
    refused(L("g", "/etc/shadow"), words=("of the host",))
    refused(F("f", b""), L("g", "a/../f"), words=("'..' component",))


def test_a_symlink_needs_a_target_that_stays_inside() -> None:
    refused(S("s", ""), words=("empty target",))
    refused(S("a/s", "../../etc"), words=("climbs out",))
    assert read(S("s", "/etc/passwd"), S("a/t", "../b")) == [("s", SYMLINK), ("a/t", SYMLINK)]


def test_whiteouts_become_whiteout_and_opaque_entries() -> None:
    assert read(F(".wh.gone", b""), F("d/.wh..wh..opq", b""), F("d/kept", b"1")) == [
        ("gone", WHITEOUT), ("d", OPAQUE), ("d/kept", FILE)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ((F(".wh..wh..opq", b""),), ("layer root opaque",)),
        ((F(".wh..wh.plnk", b""),), ("aufs metadata",)),
        ((F("a/.wh..", b""),), ("not a name",)),
        ((F(".wh.x", b"data"),), ("whiteout name on a file of 4 bytes",)),
        ((D(".wh.x"),), ("whiteout name on a dir",)),
        ((F("x", b""), F(".wh.x", b"")), ("whites out /x, which the same layer holds",)),
        ((F(".wh.x", b""), F("x", b"")), ("whited out by entry 1",)),
        ((F(".wh.x", b""), F("x/y", b"")), ("lies under /x, which this layer whites out",)),
        ((F(".wh.a/b", b""),), ("starts with '.wh.'",)),
    ],
)
def test_whiteouts_engines_could_apply_differently_are_refused(
    entries: tuple[TarEntry, ...], words: tuple[str, ...]
) -> None:
    refused(*entries, words=words)


def test_overlay_xattrs_are_refused_others_kept() -> None:
    opaque = TarEntry("d", DIRECTORY, xattrs=(("trusted.overlay.opaque", "y"),))
    refused(opaque, words=("trusted.overlay.opaque",))
    (entry,) = unpacked([TarEntry("f", FILE, xattrs=(("security.capability", "x"),))])
    assert entry.xattrs == (("security.capability", "x"),)


def test_classic_size_counts_each_inode_once_and_symlinks_by_their_raw_target() -> None:
    entries = [D("bin"), F("bin/p", b"p" * 1000), L("bin/q", "bin/p"), S("s", "./bin//p"), F(".wh.x", b"")]
    assert classic_size(unpacked(entries)) == 1000 + len("./bin//p")


def test_read_layer_hashes_counts_and_lists_in_one_pass() -> None:
    tar = write_tar([F("a", b"hello")]) + b"trailing bytes after the end still count"
    reading = read_layer(gzip_bytes(tar), media.OCI_LAYER_GZIP)
    assert reading.tar_length == len(tar)
    assert str(reading.diff_id) == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert [(e.path, e.size) for e in reading.entries] == [("a", 5)] and reading.classic_size == 5


def test_one_budget_bounds_every_layer_of_an_image_together() -> None:
    layer = write_tar([F("f", bytes(60_000))])
    budget = Budget(Caps(image_decompressed_bytes=150_000))
    read_layer(layer, media.OCI_LAYER, budget=budget)
    read_layer(layer, media.OCI_LAYER, budget=budget)
    with pytest.raises(LimitExceededError, match="decompressed size of the image"):
        read_layer(layer, media.OCI_LAYER, budget=budget)
    entries = Budget(Caps(image_tar_entries=3))
    many = write_tar([F(f"f{i}", b"") for i in range(2)])
    read_layer(many, media.OCI_LAYER, budget=entries)
    with pytest.raises(LimitExceededError, match="tar entries in the image"):
        read_layer(many, media.OCI_LAYER, budget=entries)


def test_the_budget_bounds_time_with_the_clock_it_is_given() -> None:
    ticks = iter(range(0, 1000, 10))
    budget = Budget(Caps(read_seconds=25), clock=lambda: float(next(ticks)))
    layer = write_tar([F("f", bytes(200_000))])
    with pytest.raises(LimitExceededError, match="took more than 25 s"):
        read_layer(layer, media.OCI_LAYER, budget=budget)


def test_rootless_overlay_xattrs_and_overlong_names_are_refused() -> None:
    redirect = TarEntry("d", DIRECTORY, xattrs=(("user.overlay.redirect", "/a"),))
    refused(redirect, words=("user.overlay.redirect",))
    refused(F("d/" + "n" * 256, b""), words=("over 255 bytes",))
    assert read(F("n" * 255, b"")) == [("n" * 255, FILE)]
