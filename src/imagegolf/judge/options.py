"""What the judge is asked to do, and the seam through which it gets images."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from imagegolf.engine.runtimes import check_runtime
from imagegolf.engine.sandbox import RunSpec
from imagegolf.errors import UsageError
from imagegolf.judge.matching import MatchMode, check_phrase
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.platform import Platform, Wanted

# fetch(source, wanted) -> Image: the image's exact bytes, read or pulled once (of an index, the
# entry for the wanted platforms, chosen as `docker pull` does). A registry reference with a tag
# is resolved to a digest by the fetch; the judge uses only what it returned.
# It raises BadInputError (digest or size mismatch, caps, malformed) for bytes that are hostile
# or broken (REJECTED_IMAGE); a registry's 4xx (RegistryRefused, NotFound) and any other
# exception are a failed fetch (PULL_FAILED).
Fetch = Callable[[str, Wanted], Image]

MAX_RUNS = 20
MAX_JOBS = 16


class ExitRule(enum.StrEnum):
    """Whether the exit status matters."""

    ZERO = "zero"  # a program must exit 0 (the default: the post's contest)
    ANY = "any"  # any exit status, if stdout is right (a non-zero exit can be a byte shorter)


class MessageRule(enum.StrEnum):
    """Where the message may come from."""

    ANYWHERE = "anywhere"  # files, or the image's config (an argv-mode CMD) — the default
    FILES = "files"  # the phrase's bytes may not appear in the image config or the manifest


@dataclass(frozen=True)
class JudgeOptions:
    phrase: str
    match: MatchMode = MatchMode.CONTAINS
    runs: int = 3
    # The platforms judged, in order of preference (which image of an index; foreign ones run
    # through emulation). Empty: the host's own, as `docker pull` on it would choose.
    platforms: tuple[Platform, ...] = ()
    spec: RunSpec = field(default_factory=RunSpec)
    caps: Caps = DEFAULT_CAPS
    jobs: int = 1  # images judged at the same time on the engine (runs of one image stay in order)
    # Compare the size the engine stores with the judge's metric after loading; refuse on a mismatch.
    cross_check: bool = True
    exit: ExitRule = ExitRule.ZERO
    message: MessageRule = MessageRule.ANYWHERE

    def __post_init__(self) -> None:
        if not 1 <= self.jobs <= MAX_JOBS:
            raise UsageError(f"jobs {self.jobs}: give between 1 and {MAX_JOBS} images at a time")
        if not 1 <= self.runs <= MAX_RUNS:
            raise UsageError(f"runs {self.runs}: give between 1 and {MAX_RUNS} runs")
        if self.spec.timeout_s <= 0:
            raise UsageError("the wall-time limit must be positive")
        check_runtime(self.spec.runtime)
        check_phrase(self.phrase, self.match)

    @property
    def runtime(self) -> str:
        """The OCI runtime every run uses: runc, or runsc (gVisor)."""
        return self.spec.runtime

    def wanted(self, host_platforms: tuple[Platform, ...]) -> Wanted:
        """What to take from an index: the platforms asked for, else the host's."""
        return Wanted.named(self.platforms) if self.platforms else Wanted(host_platforms)
