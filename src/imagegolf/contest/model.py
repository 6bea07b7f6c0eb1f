"""A contest's rules as a value: what to print, how to match, what to rank by, whose tag is whose."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagegolf.db.clock import format_time
from imagegolf.db.records import ContestRow
from imagegolf.digest import Digest
from imagegolf.errors import UsageError
from imagegolf.judge.matching import MatchMode, check_phrase
from imagegolf.oci.metrics import SizeMetrics
from imagegolf.platform import Platform
from imagegolf.ref import Reference

METRICS: tuple[str, ...] = tuple(SizeMetrics.__dataclass_fields__)
DEFAULT_METRIC = "docker_classic"
DEFAULT_PATTERN = r"(?P<entrant>.+)"  # the tag is the entrant, as in the post: reschenburg, pjones…
DEFAULT_LIMITS: dict[str, Any] = {
    "per_entrant_per_hour": 30,  # submissions judged per entrant per rolling hour; more wait their turn
    "runs": 3,
    "timeout_s": 10.0,
    "cross_check": True,  # refuse an image whose size in the engine differs from the judge's
    "runtime": "runc",  # the OCI runtime images run under: runc, or runsc (gVisor; engine/runtimes.py)
}


class Identity(enum.StrEnum):
    """Who an entry belongs to."""

    TAG = "tag"  # the tag names the entrant: whoever can push to the repository is trusted
    REGISTRY_USER = "registry-user"  # the registry account that pushed (its notification's actor)


class Repositories(enum.StrEnum):
    """Where entrants push."""

    SHARED = "shared"  # one repository for everyone
    PER_ENTRANT = "per-entrant"  # REPOSITORY/ENTRANT, writable by that entrant only (token server)


@dataclass(frozen=True)
class Contest:
    id: int
    name: str
    phrase: str
    match: MatchMode
    metric: str
    registry: str
    repository: str
    platforms: tuple[Platform, ...]  # judged, in order of preference; empty: the judge host's own
    entrant_pattern: str
    entrant_map: dict[str, str]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    limits: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    created_at: dt.datetime | None = None
    identity: Identity = Identity.TAG
    repositories: Repositories = Repositories.SHARED
    freeze_at: dt.datetime | None = None  # the public board stops moving from here to the end
    unfrozen_at: dt.datetime | None = None  # the organiser showed the final board early

    @classmethod
    def from_row(cls, row: ContestRow) -> Contest:
        return cls(
            id=row.id,
            name=row.name,
            phrase=row.phrase,
            match=MatchMode(row.match),
            metric=row.metric,
            registry=row.registry,
            repository=row.repository,
            platforms=Platform.parse_list(row.platform) if row.platform else (),
            entrant_pattern=row.entrant_pattern,
            entrant_map=row.entrant_map,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            limits={**DEFAULT_LIMITS, **row.limits},
            created_at=row.created_at,
            identity=Identity(row.identity),
            repositories=Repositories(row.repositories),
            freeze_at=row.freeze_at,
            unfrozen_at=row.unfrozen_at,
        )

    @property
    def watched(self) -> str:
        return f"{self.registry}/{self.repository}"

    def repository_of(self, entrant: str | None = None) -> str:
        """Where an entrant's images are: their own repository (per-entrant), else the shared one."""
        return self.entrant_repository(entrant) if self.per_entrant and entrant else self.repository

    def reference(self, digest: Digest | str, entrant: str | None = None) -> Reference:
        return Reference.parse(f"{self.registry}/{self.repository_of(entrant)}@{digest}")

    def holds(self, repository: str) -> bool:
        """Whether a repository is one of the contest's: the shared one, or an entrant's own."""
        if self.per_entrant:
            return self.entrant_of_repository(repository) is not None
        return repository == self.repository

    @property
    def per_entrant(self) -> bool:
        return self.repositories is Repositories.PER_ENTRANT

    def entrant_repository(self, entrant: str) -> str:
        """An entrant's own repository (per-entrant repositories): REPOSITORY/ENTRANT."""
        return f"{self.repository}/{entrant}"

    def entrant_of_repository(self, repository: str) -> str | None:
        """Whose repository this is (per-entrant), or None: not one of the contest's."""
        prefix = self.repository + "/"
        if not repository.startswith(prefix):
            return None
        rest = repository[len(prefix) :]
        return rest if rest and "/" not in rest else None

    def frozen(self, at: dt.datetime) -> bool:
        """Whether the public board shows the freeze's standings at ``at``: from the freeze to the
        end, unless the organiser unfroze it."""
        if self.freeze_at is None or at < self.freeze_at or self.unfrozen_at is not None:
            return False
        return self.ends_at is None or at < self.ends_at

    def entrant_for(self, tag: str) -> str | None:
        """Who a tag belongs to: the explicit map first, then the pattern; None: not an entry."""
        if tag in self.entrant_map:
            return self.entrant_map[tag]
        found = re.fullmatch(self.entrant_pattern, tag)
        return found.group("entrant") if found else None

    def window_problem(self, at: dt.datetime) -> str | None:
        if self.starts_at and at < self.starts_at:
            return f"seen at {format_time(at)}, before the contest started ({format_time(self.starts_at)})"
        if self.ends_at and at > self.ends_at:
            return f"seen at {format_time(at)}, after the contest ended ({format_time(self.ends_at)})"
        return None


def check_rules(
    *,
    phrase: str,
    match: str,
    metric: str,
    watched: str,
    pattern: str,
    starts_at: str | None,
    ends_at: str | None,
) -> tuple[Reference, str | None, str | None]:
    """Validate `contest init` values; returns the watched repository and normalised times."""
    mode = choose(MatchMode, match, "match")
    check_phrase(phrase, mode)
    if metric not in METRICS:
        raise UsageError(f"metric {metric!r}: give one of {', '.join(METRICS)}")
    ref = Reference.parse(watched)
    if "@" in watched or ":" in watched.rpartition("/")[2]:
        raise UsageError(
            f"repository {watched!r}: name a repository, without a tag or digest",
            hint="e.g. 127.0.0.1:5000/contest",
        )
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise UsageError(f"entrant pattern {pattern!r}: {error}") from None
    if "entrant" not in compiled.groupindex:
        raise UsageError(f"entrant pattern {pattern!r} has no (?P<entrant>…) group")
    start, end = _time(starts_at, "start"), _time(ends_at, "end")
    if start and end and end <= start:
        raise UsageError("the end must be after the start")
    return ref, start, end


def check_identity(identity: str, repositories: str) -> tuple[Identity, Repositories]:
    return choose(Identity, identity, "identity"), choose(Repositories, repositories, "repositories")


_Choice = TypeVar("_Choice", bound=enum.Enum)


def choose(kind: type[_Choice], value: str, setting: str) -> _Choice:
    """``value`` as a member of ``kind``, or a UsageError naming ``setting`` and its choices."""
    try:
        return kind(value)
    except ValueError:
        names = [str(member.value) for member in kind]
        choices = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
        raise UsageError(f"{setting} {value!r}: give {choices}") from None


def check_freeze(freeze_at: str | None, start: str | None, end: str | None) -> str | None:
    """The normalised freeze time: inside the window when the window is given."""
    freeze = _time(freeze_at, "freeze time")
    if freeze and start and freeze <= start:
        raise UsageError("the freeze time must be after the start")
    if freeze and end and freeze >= end:
        raise UsageError("the freeze time must be before the end (the board unfreezes at the end)")
    return freeze


def parse_moment(text: str, setting: str) -> str:
    """An ISO-8601 time as stored (UTC text), or a UsageError naming ``setting``."""
    moment = _time(text, setting)
    assert moment is not None
    return moment


def _time(text: str | None, setting: str) -> str | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{setting} {text!r}: give an ISO-8601 time, e.g. 2026-12-01T09:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_time(moment)


__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_METRIC",
    "DEFAULT_PATTERN",
    "METRICS",
    "Contest",
    "Identity",
    "Repositories",
    "check_freeze",
    "check_identity",
    "check_rules",
    "parse_moment",
]
