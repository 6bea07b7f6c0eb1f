"""Deterministic gzip and the capped gunzip, checked against Python's gzip module."""

from __future__ import annotations

import gzip
import os

import pytest

from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.oci.gzip import GZIP_HEADER, gunzip, gzip_bytes, iter_gunzip
from imagegolf.oci.limits import Caps
from imagegolf.oci.tar_write import record_layer_tar
from tests.oci.payloads import RECORD_PAYLOAD


def test_zopfli_is_installed() -> None:
    import zopfli  # noqa: F401  # golden digests assume zopfli's deflate; add `zopfli` to dependencies


def test_gzip_is_deterministic_with_mtime_0_and_no_name() -> None:
    data = record_layer_tar("a", RECORD_PAYLOAD)
    first = gzip_bytes(data)
    assert first == gzip_bytes(data)
    assert first[:10] == GZIP_HEADER  # FLG 0 (no FNAME), MTIME 0
    assert gzip.decompress(first) == data


def test_gzip_beats_or_matches_zlib_level_9() -> None:
    data = record_layer_tar("a", RECORD_PAYLOAD)
    assert len(gzip_bytes(data)) <= len(gzip.compress(data, 9, mtime=0))


def test_gunzip_reads_multi_member_streams_like_go() -> None:
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"


def test_gunzip_streams_in_bounded_pieces() -> None:
    data = os.urandom(300_000)
    pieces = list(iter_gunzip(gzip.compress(data)))
    assert b"".join(pieces) == data and max(map(len, pieces)) <= 1 << 16


def test_gunzip_refuses_garbage_and_truncation() -> None:
    with pytest.raises(BadInputError, match="cut short"):
        gunzip(gzip.compress(os.urandom(1000))[:-20])
    with pytest.raises(BadInputError, match="not another gzip member"):
        gunzip(gzip.compress(b"x") + b"junk")
    with pytest.raises(BadInputError, match="corrupt"):
        gunzip(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff")


def test_gunzip_caps_a_decompression_bomb_while_streaming() -> None:
    bomb = gzip.compress(bytes(50_000_000), 9)  # ~50 kB that inflates to 50 MB
    with pytest.raises(LimitExceededError, match="decompressed size"):
        for _ in iter_gunzip(bomb, caps=Caps(decompressed_bytes=10_000_000)):
            pass
    with pytest.raises(LimitExceededError, match="compression ratio"):
        gunzip(bomb, caps=Caps(compression_ratio=100))
    with pytest.raises(LimitExceededError, match="compressed layer"):
        gunzip(bomb, caps=Caps(compressed_bytes=1000))
