"""Which layout drew a given file: ``imagegolf explain`` names the layout of an image's program.

Pure: values in, values out. Kept apart from the catalog it reads (catalog.py), which every
build imports: building never identifies, and start-up is most of what a build costs
(bench/cli_speed.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from imagegolf.elf.catalog import LAYOUTS, Layout, Mode
from imagegolf.elf.layout import LayoutConflict


@dataclass(frozen=True)
class Identified:
    """A known layout that draws exactly the given file, and the message it carries (embed)."""

    layout: Layout
    message: bytes | None


def identify(data: bytes, architecture: str) -> Identified | None:
    """Which layout drew ``data`` (an embed layout: with which message), if any.

    A layout's bytes depend only on the message's length, except where the message is: two
    builds with different messages of one length show the message's offsets, in order, and
    the file is that layout's if rebuilding it with the bytes found there gives the file back.
    """
    for candidate in LAYOUTS:
        if candidate.architecture != architecture:
            continue
        if candidate.mode is Mode.ARGV:
            if _safe_build(candidate, b"x") == data:
                return Identified(candidate, None)
            continue
        for length in _lengths(candidate, len(data)):
            message = _message_in(candidate, data, length)
            if message is not None:
                return Identified(candidate, message)
    return None


_PROBE_LENGTHS = (*range(1, 34), 255, 256, 257, 65535, 65536)


def _lengths(candidate: Layout, size: int) -> Iterator[int]:
    """Message lengths that make ``candidate`` a file of ``size`` bytes: from the overhead of
    each regime (short, long, padded) that a probe length falls in."""
    seen = set()
    for probe in _PROBE_LENGTHS:
        if probe > size:
            break
        built = _safe_build(candidate, _probe(probe, 0))
        if built is None:
            continue
        length = size - (len(built) - probe)
        if 1 <= length <= size and length not in seen:
            seen.add(length)
            yield length


def _message_in(candidate: Layout, data: bytes, length: int) -> bytes | None:
    first, second = (_safe_build(candidate, _probe(length, salt)) for salt in (0, 0xFF))
    if first is None or second is None or len(first) != len(data) or len(second) != len(data):
        return None
    offsets = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    if len(offsets) != length:
        return None
    message = bytes(data[i] for i in offsets)
    return message if _safe_build(candidate, message) == data else None


def _probe(length: int, salt: int) -> bytes:
    """A message of ``length`` bytes that keeps every message condition (no power-of-two word)."""
    return bytes(((i * 37 + 101) & 0x7F | 0x20) ^ salt for i in range(length))


def _safe_build(candidate: Layout, message: bytes) -> bytes | None:
    if candidate.broken_by(message):
        return None
    try:
        return candidate.build(message)
    except (LayoutConflict, ValueError):
        return None
