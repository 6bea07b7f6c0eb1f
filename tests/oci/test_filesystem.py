"""The one image-filesystem view (oci/filesystem.py): layers stacked, whiteouts applied, and the
readers built on it (entry_file)."""

from __future__ import annotations

from collections.abc import Sequence

from imagegolf.digest import Digest
from imagegolf.oci import entry_file, image_filesystem, media
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.filesystem import Filesystem, file_data
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.tar_entry import DIRECTORY, OPAQUE, WHITEOUT, TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import LINUX_AMD64

E = TarEntry


def image(*layers: Sequence[TarEntry], entrypoint: Sequence[str] = ("/a",)) -> Image:
    tars = [write_tar(entries) for entries in layers]
    config = build_config(LINUX_AMD64, [Digest.of(t) for t in tars], entrypoint=entrypoint)
    manifest = build_manifest(
        Descriptor.of(media.OCI_CONFIG, config), [Descriptor.of(media.OCI_LAYER, t) for t in tars]
    )
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), tuple(tars))


def whiteout(path: str) -> TarEntry:
    head, _, name = path.rpartition("/")
    return E.file(f"{head}/.wh.{name}".lstrip("/"), b"", mode=0o644)


def stacked(*layers: Sequence[TarEntry]) -> Filesystem:
    tree = Filesystem()
    for number, entries in enumerate(layers):
        tree.add_layer(number, entries)
    return tree


def test_a_whiteout_deletes_the_path_and_all_below_it_in_lower_layers() -> None:
    tree = stacked(
        [E.directory("d"), E.file("d/x", b"1"), E.file("d/y", b"2"), E.file("k", b"3")],
        [E("d", WHITEOUT)],
    )
    assert set(tree.nodes) == {"k"}


def test_an_opaque_directory_hides_lower_contents_but_keeps_its_own_layers() -> None:
    tree = stacked(
        [E.directory("d"), E.file("d/old", b"1")],
        [E.directory("d"), E("d", OPAQUE), E.file("d/new", b"2")],
    )
    assert set(tree.nodes) == {"d", "d/new"}
    assert tree.nodes["d"].layer == 1


def test_a_non_directory_over_a_lower_directory_hides_everything_in_it() -> None:
    tree = stacked([E.directory("d"), E.file("d/x", b"1")], [E.symlink("d", "/elsewhere")])
    assert set(tree.nodes) == {"d"} and tree.nodes["d"].entry.linkname == "/elsewhere"


def test_directories_merge_and_a_lower_file_under_an_upper_entry_becomes_a_directory() -> None:
    tree = stacked(
        [E.directory("d", mode=0o700), E.file("d/x", b"1"), E.file("f", b"2")],
        [E.directory("d", mode=0o755), E.file("f/inside", b"3")],
    )
    assert set(tree.nodes) == {"d", "d/x", "f/inside"}
    assert tree.nodes["d"].entry.mode == 0o755 and tree.is_dir("f") and tree.implicit_dirs() == {"f"}


def test_a_hard_link_sets_the_owner_and_mode_of_the_file_it_shares() -> None:
    tree = stacked([E.file("a", b"x", mode=0o755), E.hardlink("b", "a", mode=0o4711)])
    assert tree.nodes["a"].entry.mode == 0o4711
    node = tree.file_node("b")
    assert node is not None and node.entry.path == "a"


def test_image_filesystem_reads_whiteouts_from_layer_streams() -> None:
    img = image([E.file("a", b"low"), E.file("b", b"gone")], [whiteout("b")])
    tree = image_filesystem(img)
    assert set(tree.nodes) == {"a"} and tree.nodes["a"].entry.data is None
    assert image_filesystem(img, keep_data=True).nodes["a"].entry.data == b"low"


def test_entry_file_is_the_top_layers_copy() -> None:
    assert entry_file(image([E.file("a", b"low")], [E.file("a", b"high")])) == ("a", b"high")
    assert entry_file(image([E.file("a", b"low")], [E.file("z", b"other")])) == ("a", b"low")


def test_entry_file_whited_out_or_hidden_is_none() -> None:
    assert entry_file(image([E.file("a", b"low")], [whiteout("a")])) is None
    lower = [E.directory("d"), E.file("d/a", b"low")]
    opaque = [E.directory("d"), E.file("d/.wh..wh..opq", b"", mode=0o644)]
    assert entry_file(image(lower, opaque, entrypoint=["/d/a"])) is None
    assert entry_file(image(lower, [whiteout("d")], entrypoint=["/d/a"])) is None
    kept = [*opaque, E.file("d/a", b"new")]  # the opaque marker hides only the lower layers' d/a
    assert entry_file(image(lower, kept, entrypoint=["/d/a"])) == ("d/a", b"new")


def test_entry_file_follows_a_hard_link_and_is_none_for_a_directory() -> None:
    assert entry_file(image([E.file("b", b"data"), E.hardlink("a", "b")])) == ("a", b"data")
    assert entry_file(image([E.file("a", b"low")], [E.directory("a")])) is None


# Found by the differential test against dockerd and podman (tests/oci/test_filesystem_engines.py).


def test_a_whiteout_or_opaque_marker_makes_its_parent_directory_in_its_layer() -> None:
    # moby and containers/storage Unpack MkdirAll a missing parent in the layer's own directory
    # (0755 root:root); overlayfs shows that directory over a lower file at the same path.
    tree = stacked([E.file("f", b"1")], [E("f/x", WHITEOUT), E("n/d", OPAQUE)])
    assert not tree.nodes and tree.implicit_dirs() == {"f", "n", "n/d"}
    assert all(tree.is_dir(p) and tree.made_dirs[p].entry.mode == 0o755 for p in ("f", "n", "n/d"))


def test_a_directory_made_for_entries_stays_when_they_are_whited_out() -> None:
    tree = stacked([E.file("d/x", b"1")], [E("d/x", WHITEOUT)])
    assert not tree.nodes and tree.implicit_dirs() == {"d"} and tree.is_dir("d")


def test_a_made_directory_hides_the_mode_and_owner_of_a_lower_directory() -> None:
    tree = stacked([E("d", DIRECTORY, mode=0o700, uid=1000, gid=1000)], [E.file("d/x", b"1")])
    assert "d" not in tree.nodes
    made = tree.made_dirs["d"]
    assert (made.entry.kind, made.entry.mode, made.entry.uid, made.layer) == (DIRECTORY, 0o755, 0, 1)


def test_a_hard_link_keeps_its_file_when_an_upper_layer_whites_out_or_replaces_the_target() -> None:
    lower = [E.file("a", b"old", mode=0o640), E.hardlink("b", "a", mode=0o600), E.file("c", b"x")]
    img = image(lower, [whiteout("a")])
    tree = image_filesystem(img)
    node = tree.file_node("b")
    assert node is not None and node.layer == 0 and node.entry.mode == 0o600
    assert file_data(img, node) == b"old"
    replaced = image(lower, [E.file("a", b"new")])
    tree = image_filesystem(replaced)
    node = tree.file_node("b")
    assert node is not None and file_data(replaced, node) == b"old"
    assert entry_file(image(lower, [whiteout("a")], entrypoint=["/b"])) == ("b", b"old")


def test_a_whiteout_under_a_lower_symlink_makes_a_directory_over_it() -> None:
    # dockerd and podman unpack the layer into its own directory: the whiteout's parent is made
    # there and hides the lower symlink; the linked directory keeps its files.
    lower = [E.directory("u"), E.file("u/foo", b"1"), E.symlink("q", "u")]
    for upper in ([E("q/foo", WHITEOUT)], [E("q", OPAQUE)]):
        tree = stacked(lower, upper)
        assert set(tree.nodes) == {"u", "u/foo"} and tree.implicit_dirs() == {"q"}
