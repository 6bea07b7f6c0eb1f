"""The ladder's values: a strategy (one rung), what building it gives, and the post's figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imagegolf import oci
from imagegolf.ladder.tools import Workbench
from imagegolf.platform import Platform

ACCEPTED = "ACCEPTED"
START_FAILED = "START_FAILED"


@dataclass(frozen=True)
class PostFigure:
    """A size the seed's post reported for the same step (docs/ladder.md), in bytes (base 1000)."""

    rung: str  # what the post built: "ubuntu + CMD echo", "nasm -f elf64 + ld"
    size: int  # as `docker images` showed it, to its three digits: 73.9 MB is 73_900_000


@dataclass(frozen=True)
class RungImage:
    """A built rung: the image, a one-line technique, every command and version, the toolchain."""

    image: oci.Image
    technique: str
    log: list[str]
    toolchain: str


# A builder gets the message, the platform and a workbench (temp dir, PATH, cache, log).
Builder = Callable[[bytes, Platform, Workbench], RungImage]


@dataclass(frozen=True)
class Strategy:
    """One rung of the ladder: how to build it and what the post measured for the same step."""

    name: str
    technique: str
    builder: Builder
    platforms: tuple[Platform, ...]  # the first is the default
    post: PostFigure | None = None
    expected: str = ACCEPTED  # the verdict the ladder expects (host-echo must fail to start)
    slow: bool = False  # takes seconds to minutes (downloads, Go's linker, UPX)

    @property
    def default_platform(self) -> Platform:
        return self.platforms[0]
