"""Caps on hostile input (attacks.md §6–8), enforced before parsing and while streaming."""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.errors import LimitExceededError


@dataclass(frozen=True)
class Caps:
    """Upper bounds for everything read from an image; defaults fit any sane golf entry."""

    manifest_bytes: int = 64 * 1024
    index_bytes: int = 64 * 1024
    config_bytes: int = 64 * 1024
    layer_count: int = 16
    compressed_bytes: int = 64 * 1024 * 1024  # one stored layer blob
    decompressed_bytes: int = 256 * 1024 * 1024  # one layer's tar stream
    compression_ratio: int = 2000  # decompressed / compressed, checked past 1 MiB
    tar_entries: int = 10_000
    path_length: int = 4096
    archive_bytes: int = 512 * 1024 * 1024  # a whole source archive (dual/oci/docker tar)


DEFAULT_CAPS = Caps()


def check_cap(value: int, cap: int, what: str) -> None:
    """Raise :class:`LimitExceededError` if ``value`` exceeds ``cap``."""
    if value > cap:
        raise LimitExceededError(
            f"{what} is {value}, more than the cap of {cap}",
            hint="the input looks hostile or is not a golf entry; raise the cap only if you trust it",
        )
