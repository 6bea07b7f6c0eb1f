"""Deterministic gzip out (mtime 0, no name) and capped streaming gunzip in."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from imagegolf.errors import BadInputError
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap

GZIP_MAGIC = b"\x1f\x8b"
# RFC 1952 member header: deflate, no flags (so no file name), MTIME 0, XFL 2 (best), OS 3 (Unix).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
_PIECE = 1 << 16
_RATIO_CHECK_AFTER = 1 << 20
# zopfli runs at seconds per MiB; larger layers (the ladder's big rungs) use zlib.
_ZOPFLI_MAX_INPUT = 1 << 20
# For record-sized layers (under 1 KiB of tar) more iterations gave the same bytes (1 to 50 measured
# on the record images); each iteration costs about 0.5 ms of a `build` that should take tens of ms.
_ZOPFLI_ITERATIONS = 1


def gzip_bytes(data: bytes) -> bytes:
    """The smallest deterministic gzip member imagegolf makes of ``data`` in reasonable time.

    Same input, same bytes: zopfli (fixed options) up to 1 MiB, zlib level 9 above, same header.
    """
    if len(data) <= _ZOPFLI_MAX_INPUT:
        # zopfli finds shorter deflate streams than zlib; its output is deterministic for fixed
        # options. Imported here: only building compresses, and push, pull and inspect start faster
        # without it (bench/cli_speed.py).
        import zopfli.zopfli

        out: bytes = zopfli.zopfli.compress(data, gzip_mode=1, numiterations=_ZOPFLI_ITERATIONS)
        if out.startswith(GZIP_HEADER):
            return out
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    deflated = compressor.compress(data) + compressor.flush()
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return GZIP_HEADER + deflated + trailer


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def iter_gunzip(data: bytes, *, caps: Caps = DEFAULT_CAPS) -> Iterator[bytes]:
    """Decompressed pieces of a (multi-member) gzip stream, capped as they come (docs/judge.md #6).

    Like Go's gzip reader, members may follow each other; anything else after a member is an error.
    """
    check_cap(len(data), caps.compressed_bytes, "the size of a compressed layer")
    produced = 0
    rest = data
    while rest:
        if not is_gzip(rest):
            raise BadInputError("data after a gzip member is not another gzip member")
        inflater = zlib.decompressobj(wbits=31)
        pending = rest
        while not inflater.eof:
            piece = _inflate(inflater, pending)
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break
            produced += len(piece)
            check_cap(produced, caps.decompressed_bytes, "the decompressed size of a layer")
            if produced > _RATIO_CHECK_AFTER:
                check_cap(
                    produced // max(len(data), 1), caps.compression_ratio, "the compression ratio of a layer"
                )
            if piece:
                yield piece
        if not inflater.eof:
            raise BadInputError("gzip stream is cut short")
        rest = inflater.unused_data


def gunzip(data: bytes, *, caps: Caps = DEFAULT_CAPS) -> bytes:
    return b"".join(iter_gunzip(data, caps=caps))


def _inflate(inflater: zlib._Decompress, pending: bytes) -> bytes:
    try:
        return inflater.decompress(pending, _PIECE)
    except zlib.error as error:
        raise BadInputError(f"corrupt gzip data: {error}") from None
