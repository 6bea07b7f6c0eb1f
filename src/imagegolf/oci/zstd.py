"""Capped streaming zstd decompression (RFC 8878), read the way the engines' Go decoder reads it.

containerd, containers/image + containers/storage (podman) and moby ≥ 23 decompress zstd layers
with klauspost/compress ``zstd.NewReader``: frames may follow each other, skippable frames
(magic 0x184D2A50–0x184D2A5F; zstd:chunked keeps its table of contents in them) are skipped,
anything else after a frame is an error, and so are bad checksums, unknown dictionaries and a
frame cut short. The frames themselves are decoded by libzstd (the ``zstandard`` package).

No step allocates without bound: each frame's declared window is checked before decoding
(libzstd allocates it up front), and the input goes in ``_STEP`` bytes at a time. A zstd block
regenerates at most 128 KiB and needs at least 4 bytes (a 3-byte header and one RLE byte), so one
step yields at most 65 blocks (about 8 MiB) before the caps are checked again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import zstandard

from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # 0xFD2FB528, little-endian
_SKIPPABLE_MASK = 0xFFFFFFF0
_SKIPPABLE_MAGIC = 0x184D2A50  # 0x184D2A50 to 0x184D2A5F, then a 4-byte little-endian length
# libzstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27): `zstd -d` refuses more without
# --memory. Only `--long` or `--ultra` writes a larger window; no golf entry needs one.
MAX_WINDOW_SIZE = 1 << 27
# zstd:chunked writes a frame per file and per chunk of a large file (a few thousand in a 256 MiB
# layer); 64 Ki frames of either kind take well under a second, millions of empty ones a minute.
MAX_FRAMES = 1 << 16
_STEP = 256
_PIECE = 1 << 16
_RATIO_CHECK_AFTER = 1 << 20


def is_zstd(data: bytes) -> bool:
    """A zstd frame or a skippable frame starts here (what moby's ``DetectCompression`` matches)."""
    return data[:4] == ZSTD_MAGIC or (len(data) >= 8 and _is_skippable(data))


def _is_skippable(data: bytes) -> bool:
    return len(data) >= 4 and int.from_bytes(data[:4], "little") & _SKIPPABLE_MASK == _SKIPPABLE_MAGIC


def iter_unzstd(data: bytes, *, caps: Caps = DEFAULT_CAPS) -> Iterator[bytes]:
    """Decompressed pieces (≤ 64 KiB each) of a stream of zstd and skippable frames, capped as they
    come (docs/judge.md #6): ``caps.decompressed_bytes``, and ``caps.compression_ratio`` past 1 MiB."""
    check_cap(len(data), caps.compressed_bytes, "the size of a compressed layer")
    # Imported where a zstd layer is read: zstandard (and the stdlib `platform` it loads) would
    # cost every build, push and inspect of gzip images a few ms of start-up (bench/cli_speed.py).
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_SIZE)
    view = memoryview(data)
    produced = 0
    pending = bytearray()
    at = frames = 0
    while at < len(data):
        frames += 1
        check_cap(frames, MAX_FRAMES, "the number of zstd frames in a layer")
        if _is_skippable(data[at : at + 4]):
            at = _skip(data, at)
            continue
        if data[at : at + 4] != ZSTD_MAGIC:
            if not at:
                raise BadInputError("the data is not zstd: it starts with no zstd or skippable frame")
            raise BadInputError(f"the data at byte {at}, after a zstd frame, is not another zstd frame")
        _check_header(data, at)
        frame = decompressor.decompressobj(write_size=_PIECE)
        while not frame.eof:
            if at >= len(data):
                raise BadInputError("zstd stream is cut short")
            step = view[at : at + _STEP]
            out = _decompress(frame, step)
            at += len(step) - (len(frame.unused_data) if frame.eof else 0)
            produced += len(out)
            check_cap(produced, caps.decompressed_bytes, "the decompressed size of a layer")
            if produced > _RATIO_CHECK_AFTER:
                check_cap(produced // len(data), caps.compression_ratio, "the compression ratio of a layer")
            pending += out
            while len(pending) >= _PIECE:
                yield bytes(pending[:_PIECE])
                del pending[:_PIECE]
    if pending:
        yield bytes(pending)


def unzstd(data: bytes, *, caps: Caps = DEFAULT_CAPS) -> bytes:
    return b"".join(iter_unzstd(data, caps=caps))


def _skip(data: bytes, at: int) -> int:
    """The offset after the skippable frame at ``at``."""
    if at + 8 > len(data):
        raise BadInputError("zstd stream is cut short (in the header of a skippable frame)")
    end = at + 8 + int.from_bytes(data[at + 4 : at + 8], "little")
    if end > len(data):
        raise BadInputError("zstd stream is cut short (in a skippable frame)")
    return end


def _check_header(data: bytes, at: int) -> None:
    """Refuse a frame whose window would make libzstd allocate too much, or that needs a dictionary."""
    import zstandard  # loaded by iter_unzstd already: a dictionary lookup

    try:
        params = zstandard.get_frame_parameters(data[at : at + 18])  # a frame header is ≤ 18 bytes
    except zstandard.ZstdError as error:
        if len(data) - at < 18 and "not enough data" in str(error):
            raise BadInputError("zstd stream is cut short (in a frame header)") from None
        raise BadInputError(f"corrupt zstd frame header at byte {at}: {error}") from None
    if params.window_size > MAX_WINDOW_SIZE:
        raise LimitExceededError(
            f"the zstd frame at byte {at} declares a window of {params.window_size} bytes, more than "
            f"the cap of {MAX_WINDOW_SIZE} (decoding it would allocate that much)",
            hint="recompress without --long or --ultra",
        )
    if params.dict_id:
        raise BadInputError(
            f"the zstd frame at byte {at} needs dictionary {params.dict_id}: no engine has it"
        )


def _decompress(frame: zstandard.ZstdDecompressionObj, step: memoryview) -> bytes:
    import zstandard  # loaded by iter_unzstd already: a dictionary lookup

    try:
        return frame.decompress(step)
    except zstandard.ZstdError as error:
        raise BadInputError(f"corrupt zstd data: {error}") from None
