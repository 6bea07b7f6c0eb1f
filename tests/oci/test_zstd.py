"""zstd layers: the capped streaming decompressor (oci/zstd.py) and the layer reader's zstd branch.

Frames come from the ``zstandard`` package, from the real ``zstd`` command, and by hand (the bomb,
absurd windows, dictionary frames), each laid out as RFC 8878 says.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import zstandard

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.oci import media
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.gzip import gzip_bytes
from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import iter_layer_tar, read_layer
from imagegolf.oci.limits import Budget, Caps
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.metrics import size_metrics
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.oci.validate import validate_image
from imagegolf.oci.zstd import MAX_FRAMES, MAX_WINDOW_SIZE, ZSTD_MAGIC, is_zstd, iter_unzstd, unzstd
from imagegolf.platform import LINUX_386
from tests.services import require

MiB = 1 << 20
TAR = write_tar(
    [
        TarEntry.directory("bin"),
        TarEntry.file("bin/prog", b"\x7fELF" + bytes(3000), 0o755),
        TarEntry.symlink("prog", "bin/prog"),
        TarEntry.file("etc/motd", b"hello\n" * 200, 0o644),
    ]
)


def zstd(data: bytes, **options: int | bool) -> bytes:
    return zstandard.ZstdCompressor(**options).compress(data)  # type: ignore[arg-type]


def skippable(payload: bytes, nibble: int = 0) -> bytes:
    return (0x184D2A50 + nibble).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


def frame_header(window_log: int = 17, dict_id: int | None = None) -> bytes:
    """Magic, a frame header descriptor (no content size, not single-segment), a window descriptor."""
    descriptor = 0x01 if dict_id is not None else 0x00  # Dictionary_ID_flag 1: a 1-byte id follows
    head = ZSTD_MAGIC + bytes([descriptor, (window_log - 10) << 3])
    return head + (bytes([dict_id]) if dict_id is not None else b"")


def block(kind: int, size: int, *, last: bool, content: bytes = b"") -> bytes:
    """A block header (3 bytes, little-endian: Last_Block, Block_Type, Block_Size) and its content."""
    return ((size << 3) | (kind << 1) | int(last)).to_bytes(3, "little") + content


def rle_bomb(blocks: int) -> bytes:
    """``blocks`` RLE blocks of 128 KiB each: 4 bytes each in, 128 KiB each out (ratio 32768)."""
    body = block(1, 128 * 1024, last=False, content=b"\0") * (blocks - 1)
    return frame_header(17) + body + block(1, 128 * 1024, last=True, content=b"\0")


def chunked(tar: bytes, size: int = 700) -> bytes:
    """zstd:chunked's shape: the tar in many frames, then a skippable frame holding a (compressed)
    table of contents and a skippable footer (containers/storage pkg/chunked/compressor)."""
    frames = b"".join(zstd(tar[i : i + size]) for i in range(0, len(tar), size))
    toc = zstd(b'{"version":1,"entries":[]}')
    return frames + skippable(toc) + skippable(bytes(40))


def test_is_zstd_matches_frames_and_skippable_frames_like_moby() -> None:
    assert is_zstd(zstd(b"x"))
    assert all(is_zstd(skippable(b"", n)) for n in range(16))
    assert not is_zstd(gzip_bytes(b"x")) and not is_zstd(TAR) and not is_zstd(b"")
    assert not is_zstd(skippable(b"")[:7])  # moby needs 8 bytes to call it a skippable frame


def test_frames_in_a_row_are_read_like_go() -> None:
    assert unzstd(zstd(b"ab") + zstd(b"") + zstd(b"cd", write_checksum=True)) == b"abcd"


def test_skippable_frames_are_skipped_wherever_they_are() -> None:
    data = skippable(b"lead", 0) + zstd(b"ab") + skippable(b"", 7) + zstd(b"cd") + skippable(b"x" * 99, 15)
    assert unzstd(data) == b"abcd"
    assert unzstd(skippable(b"only")) == b""


def test_a_zstd_chunked_layout_reads_as_the_tar_it_holds() -> None:
    blob = chunked(TAR)
    from_zstd = read_layer(blob, media.OCI_LAYER_ZSTD)
    from_gzip = read_layer(gzip_bytes(TAR), media.OCI_LAYER_GZIP)
    assert from_zstd == from_gzip
    assert from_zstd.diff_id == Digest.of(TAR) and from_zstd.tar_length == len(TAR)


def test_the_real_zstd_command_agrees() -> None:
    program = require("zstd")
    data = os.urandom(5000) + bytes(300_000) + b"tail"
    # -19 with a content checksum, then --fast: two frames in a row, as `cat a.zst b.zst` makes.
    first = subprocess.run([program, "-19", "--check", "-c"], input=data, capture_output=True, check=True)
    second = subprocess.run([program, "--fast", "-c"], input=b"more", capture_output=True, check=True)
    both = first.stdout + second.stdout
    theirs = subprocess.run([program, "-d", "-c"], input=both, capture_output=True, check=True).stdout
    assert unzstd(both) == theirs == data + b"more"


def test_an_absurd_window_is_refused_before_anything_is_allocated() -> None:
    huge = frame_header(31) + block(0, 0, last=True)  # a 2 GiB window, no content at all
    with pytest.raises(LimitExceededError, match="declares a window of 2147483648 bytes"):
        unzstd(huge)
    assert unzstd(frame_header(27) + block(0, 3, last=True, content=b"abc")) == b"abc"  # 128 MiB is fine
    assert MAX_WINDOW_SIZE == 1 << 27
    # `zstd --long=31` writes one (the size of stdin is unknown); `zstd -d` refuses it too by default.
    program = require("zstd")
    long = subprocess.run([program, "--long=31", "-c"], input=b"x" * 1000, capture_output=True, check=True)
    with pytest.raises(LimitExceededError, match="window"):
        unzstd(long.stdout)
    theirs = subprocess.run([program, "-d", "-c"], input=long.stdout, capture_output=True, check=False)
    assert theirs.returncode != 0 and b"--memory" in theirs.stderr


def test_a_frame_that_needs_a_dictionary_is_refused() -> None:
    with pytest.raises(BadInputError, match="needs dictionary 7"):
        unzstd(frame_header(17, dict_id=7) + block(0, 0, last=True))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (zstd(os.urandom(1000))[:-20], "cut short"),
        (zstd(b"abc")[:5], "cut short (in a frame header)"),
        (zstd(b"abc") + ZSTD_MAGIC, "cut short (in a frame header)"),
        (skippable(b"12345")[:-1], "cut short (in a skippable frame)"),
        (zstd(b"abc") + skippable(b"")[:6], "cut short (in the header of a skippable frame)"),
        (zstd(b"abc") + b"junk", "at byte 12, after a zstd frame, is not another zstd frame"),
        (zstd(b"abc") + bytes(8), "not another zstd frame"),  # zeros are garbage too
        (gzip_bytes(b"abc"), "not zstd"),
        (frame_header(17) + block(3, 0, last=True), "corrupt zstd data"),  # reserved block type
        (ZSTD_MAGIC + b"\x08\x38" + block(0, 0, last=True), "corrupt zstd frame header"),  # reserved bit
    ],
    ids=[
        "truncated",
        "truncated-header",
        "magic-only",
        "truncated-skippable",
        "short-skippable-tail",
        "trailing-garbage",
        "trailing-zeros",
        "gzip",
        "reserved-block",
        "reserved-bit",
    ],
)
def test_corrupt_cut_and_trailing_data_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(BadInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        unzstd(data)


def test_a_bad_checksum_or_content_size_is_refused() -> None:
    good = zstd(b"x" * 5000, write_checksum=True)
    with pytest.raises(BadInputError, match="corrupt zstd data"):
        unzstd(good[:-1] + bytes([good[-1] ^ 1]))
    sized = bytearray(zstd(b"abc", write_content_size=True))  # single-segment, 1-byte content size
    sized[5] = 4  # the frame now claims 4 bytes
    with pytest.raises(BadInputError, match="corrupt zstd"):
        unzstd(bytes(sized))


def test_a_zstd_bomb_is_capped_while_streaming() -> None:
    bomb = rle_bomb(8192)  # 32 KiB that decompresses to 1 GiB
    assert len(bomb) < 33_000
    produced = 0
    with pytest.raises(LimitExceededError, match="decompressed size of a layer is"):
        for piece in iter_unzstd(bomb, caps=Caps(decompressed_bytes=10 * MiB, compression_ratio=1 << 30)):
            assert len(piece) <= 1 << 16
            produced += len(piece)
    # One step feeds 256 bytes: at most 65 blocks of 128 KiB come out before the caps are checked.
    assert produced <= 10 * MiB
    with pytest.raises(LimitExceededError, match="compression ratio of a layer is"):
        for _ in iter_unzstd(bomb):  # the default caps: ratio 2000, checked past 1 MiB
            pass
    with pytest.raises(LimitExceededError, match="size of a compressed layer"):
        unzstd(bomb, caps=Caps(compressed_bytes=1000))


def test_pieces_are_bounded_and_rejoin_exactly() -> None:
    data = os.urandom(300_000) + bytes(3 * MiB)
    pieces = list(iter_unzstd(zstd(data, level=19)))
    assert b"".join(pieces) == data and max(map(len, pieces)) <= 1 << 16


def test_the_number_of_frames_is_capped() -> None:
    assert unzstd(skippable(b"") * (MAX_FRAMES - 1) + zstd(b"ok")) == b"ok"
    with pytest.raises(LimitExceededError, match="number of zstd frames"):
        unzstd(skippable(b"") * MAX_FRAMES + zstd(b"ok"))


# -- the layer reader: the media type picks the decompressor, the magic must agree ----------------


def test_a_zstd_layer_reads_like_the_same_tar_uncompressed() -> None:
    for level in (1, 19):
        assert read_layer(zstd(TAR, level=level), media.OCI_LAYER_ZSTD) == read_layer(TAR, media.OCI_LAYER)


@pytest.mark.parametrize(
    ("blob", "media_type", "words"),
    [
        (zstd(TAR), media.OCI_LAYER_GZIP, "is not gzip data (it holds zstd data)"),
        (zstd(TAR), media.DOCKER_LAYER_GZIP, "is not gzip data (it holds zstd data)"),
        (gzip_bytes(TAR), media.OCI_LAYER_ZSTD, "is not zstd data (it holds gzip data)"),
        (TAR, media.OCI_LAYER_ZSTD, "is not zstd data"),
        (zstd(TAR), media.OCI_LAYER, "(uncompressed) holds zstd data"),
        (skippable(b"toc") + zstd(TAR), media.DOCKER_LAYER, "(uncompressed) holds zstd data"),
    ],
    ids=["zstd-as-gzip", "zstd-as-docker-gzip", "gzip-as-zstd", "tar-as-zstd", "zstd-as-tar", "skip-as-tar"],
)
def test_the_media_type_must_say_what_the_bytes_are(blob: bytes, media_type: str, words: str) -> None:
    with pytest.raises(BadInputError) as caught:
        read_layer(blob, media_type)
    assert words in str(caught.value)


def test_every_zstd_piece_is_charged_to_the_image_budget() -> None:
    tar = write_tar([TarEntry.file("r", os.urandom(3 * MiB), 0o644)])
    layer = zstd(tar)
    budget = Budget(Caps(image_decompressed_bytes=5 * MiB))
    assert sum(map(len, iter_layer_tar(layer, media.OCI_LAYER_ZSTD, budget=budget))) == len(tar)
    assert budget.decompressed_bytes == len(tar)
    with pytest.raises(LimitExceededError, match="decompressed size of the image"):
        read_layer(layer, media.OCI_LAYER_ZSTD, budget=budget)  # two such layers are too much
    ticks = iter(range(0, 1000, 100))  # a clock that jumps 100 s a read
    slow = Budget(Caps(read_seconds=150), clock=lambda: float(next(ticks)))
    with pytest.raises(LimitExceededError, match="took more than 150 s"):
        for _ in iter_layer_tar(layer, media.OCI_LAYER_ZSTD, budget=slow):
            pass


def zstd_image(tar: bytes, blob: bytes) -> Image:
    config = build_config(LINUX_386, [Digest.of(tar)], cmd=["/bin/prog"])
    manifest = build_manifest(
        Descriptor.of(media.OCI_CONFIG, config), [Descriptor.of(media.OCI_LAYER_ZSTD, blob)]
    )
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), (blob,))


def test_the_five_metrics_of_a_zstd_image() -> None:
    blob = chunked(TAR)
    image = zstd_image(TAR, blob)
    (reading,) = validate_image(image)
    metrics = size_metrics(image, [reading])
    manifest, config = len(image.manifest_bytes), len(image.config_bytes)
    assert metrics.docker_classic == 3004 + 1200 + len("bin/prog")  # files, and the symlink's target
    assert metrics.podman == len(TAR) + config + 2 * manifest  # the decompressed tar stream
    assert metrics.registry_compressed == len(blob)  # skippable frames and all
    assert metrics.pull_bytes == metrics.containerd_content == manifest + config + len(blob)
    assert size_metrics(image) == metrics


def test_a_wrong_diff_id_under_zstd_is_refused() -> None:
    image = zstd_image(TAR + bytes(1024), zstd(TAR))  # the config names another tar
    with pytest.raises(BadInputError, match="diff_id"):
        validate_image(image)
    validate_image(zstd_image(TAR + bytes(1024), zstd(TAR + bytes(1024))))  # the tar it names
