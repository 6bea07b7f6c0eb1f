"""The tar writer and reader, checked against Python's tarfile and GNU tar."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.oci.layer_read import unpacked
from imagegolf.oci.limits import Caps
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_read import read_tar
from imagegolf.oci.tar_write import record_layer_tar, write_tar
from tests.oci.payloads import RECORD_PAYLOAD

MIXED = [  # in written order: sorted by path, except that a hard link follows its target
    TarEntry.directory("bin"),
    TarEntry.file("bin/hello", b"hello\n", 0o755),
    TarEntry.hardlink("bin/a-link", "bin/hello"),
    TarEntry.file("deep/" + "d" * 120 + "/" + "f" * 90, b"x" * 700, 0o600),  # ustar prefix
    TarEntry.file("empty", b"", 0o644),
    TarEntry.file("long/" + "n" * 300, b"pax", 0o644),  # needs a PAX path record
    TarEntry.symlink("sh", "bin/hello"),
]


def padded(tar: bytes) -> bytes:
    """What Python's tarfile needs: whole blocks and the two end blocks."""
    return tar + bytes(-len(tar) % 512) + bytes(1024)


def listing(entries: list[TarEntry]) -> list[tuple[str, str, int, int, str]]:
    return [(e.path, e.kind, e.size, e.mode, e.linkname) for e in entries]


def test_record_tar_is_one_v7_header_and_the_bytes() -> None:
    tar = record_layer_tar("a", RECORD_PAYLOAD)
    assert len(tar) == 512 + 73  # no padding after the data, no end blocks
    header = tar[:512]
    assert header[0:2] == b"a\0"
    assert header[100:104] == b"755\0"
    assert header[124:128] == b"111\0"  # 73 in octal
    assert header[136:148] == bytes(12)  # mtime 0 (and an empty field reads as 0)
    assert header[156] == 0 and header[257:263] == bytes(6)  # v7 typeflag, no ustar magic
    assert tar[512:] == RECORD_PAYLOAD


def test_record_tar_is_deterministic() -> None:
    assert record_layer_tar("a", RECORD_PAYLOAD) == record_layer_tar("a", RECORD_PAYLOAD)


def test_our_reader_reads_the_compact_shortcuts() -> None:
    (entry,) = read_tar(record_layer_tar("a", RECORD_PAYLOAD), keep_data=True)
    assert (entry.path, entry.kind, entry.size, entry.mode, entry.uid, entry.gid) == (
        "a",
        "file",
        73,
        0o755,
        0,
        0,
    )
    assert entry.data == RECORD_PAYLOAD


@pytest.mark.parametrize("compact", [False, True])
def test_python_tarfile_agrees_with_our_reader(compact: bool) -> None:
    tar = write_tar(reversed(MIXED), compact=compact)
    ours = [(p.rstrip("/"), *rest) for p, *rest in listing(list(read_tar(tar)))]  # names as Go reads them
    with tarfile.open(fileobj=io.BytesIO(padded(tar))) as archive:
        theirs = [(m.name.rstrip("/"), _kind(m), m.size, m.mode, m.linkname) for m in archive.getmembers()]
    assert ours == theirs
    assert [p for p, *_ in ours] == [e.path for e in MIXED]


@pytest.mark.parametrize("compact", [False, True])
def test_gnu_tar_lists_what_we_wrote(compact: bool, tmp_path) -> None:
    path = tmp_path / "layer.tar"
    path.write_bytes(padded(write_tar(MIXED, compact=compact)))
    out = subprocess.run(
        ["tar", "--numeric-owner", "-tvf", str(path)], capture_output=True, check=True, text=True
    )
    lines = out.stdout.splitlines()
    assert len(lines) == len(MIXED)
    for line, entry in zip(lines, MIXED, strict=True):
        assert " 0/0 " in line and "1970-01-01 00:00" in line  # uid/gid 0, mtime 0
        assert entry.path in line
        assert line[0] == {"dir": "d", "file": "-", "symlink": "l", "hardlink": "h"}[entry.kind]


def test_hard_links_come_after_their_targets() -> None:
    entries = [TarEntry.hardlink("a", "z"), TarEntry.file("z", b"1"), TarEntry.hardlink("b", "a")]
    assert [e.path for e in read_tar(write_tar(entries))] == ["z", "a", "b"]
    with pytest.raises(BadInputError, match="missing targets"):
        write_tar([TarEntry.hardlink("a", "nowhere")])


def test_standard_tar_ends_with_two_zero_blocks_and_is_deterministic() -> None:
    tar = write_tar(MIXED)
    assert tar.endswith(bytes(1024)) and len(tar) % 512 == 0
    assert tar == write_tar(list(reversed(MIXED)))


def test_reader_reads_gnu_and_pax_tars_from_tarfile() -> None:
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
            name = "x/" + "y" * 150 if fmt != tarfile.USTAR_FORMAT else "x/y"
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid = 5, 0o750, 1000
            archive.addfile(info, io.BytesIO(b"hello"))
            link = tarfile.TarInfo("l")
            link.type, link.linkname = (
                tarfile.SYMTYPE,
                "/" + "t" * 130 if fmt != tarfile.USTAR_FORMAT else "/t",
            )
            archive.addfile(link)
        entries = list(read_tar(out.getvalue(), keep_data=True))
        assert [(e.path, e.kind, e.size, e.mode, e.uid) for e in entries] == [
            (name, "file", 5, 0o750, 1000),
            ("l", "symlink", 0, 0o644, 0),
        ]
        assert entries[0].data == b"hello" and entries[1].linkname == link.linkname


def test_reader_takes_a_stream_of_small_chunks() -> None:
    tar = write_tar(MIXED)
    chunks = [tar[i : i + 7] for i in range(0, len(tar), 7)]
    assert listing(list(read_tar(chunks))) == listing(list(read_tar(tar)))


@pytest.mark.parametrize("name", ["../etc/passwd", "a/../../b", "./../x", "a/../b"])
def test_names_come_as_go_reads_them_and_the_layer_reader_refuses_dotdot(name: str) -> None:
    tar = tarfile.TarInfo(name).tobuf(tarfile.USTAR_FORMAT)
    assert [e.path for e in read_tar(tar)] == [name]
    with pytest.raises(BadInputError, match=r"'\.\.' component"):
        list(unpacked(read_tar(tar)))


def test_reader_refuses_sparse_and_strange_entries() -> None:
    sparse = tarfile.TarInfo("s")
    sparse.type = tarfile.GNUTYPE_SPARSE
    with pytest.raises(BadInputError, match="sparse"):
        list(read_tar(sparse.tobuf(tarfile.GNU_FORMAT)))
    pax_sparse = tarfile.TarInfo("p")
    pax_sparse.pax_headers = {"GNU.sparse.major": "1"}
    with pytest.raises(BadInputError, match="sparse"):
        list(read_tar(pax_sparse.tobuf(tarfile.PAX_FORMAT)))


def test_reader_enforces_caps_while_streaming() -> None:
    many = write_tar([TarEntry.file(f"f{i}", b"") for i in range(20)])
    with pytest.raises(LimitExceededError, match="number of tar entries"):
        list(read_tar(many, caps=Caps(tar_entries=10)))
    with pytest.raises(LimitExceededError, match="path length"):
        list(read_tar(write_tar([TarEntry.file("p" * 300, b"")]), caps=Caps(path_length=200)))
    big = write_tar([TarEntry.file("big", bytes(100_000))])
    with pytest.raises(LimitExceededError, match="decompressed size of the layer"):
        list(read_tar(big, caps=Caps(decompressed_bytes=50_000)))


def test_reader_rejects_corruption() -> None:
    tar = bytearray(write_tar(MIXED))
    tar[5] ^= 1
    with pytest.raises(BadInputError, match="checksum"):
        list(read_tar(bytes(tar)))
    with pytest.raises(BadInputError, match="cut short"):
        list(read_tar(record_layer_tar("a", RECORD_PAYLOAD)[:-1]))
    with pytest.raises(BadInputError, match="inside the header"):
        list(read_tar(bytes(tar[:100])))


def test_end_of_archive_rules_follow_go() -> None:
    one = write_tar([TarEntry.file("a", b"x")])
    assert len(list(read_tar(one[:1536]))) == 1  # one zero block then EOF: the end
    garbage = one[:1536] + b"\x01" * 512  # a zero block followed by data is an error, as in Go
    with pytest.raises(BadInputError, match="zero block"):
        list(read_tar(garbage))


def _kind(member: tarfile.TarInfo) -> str:
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    return "file"
