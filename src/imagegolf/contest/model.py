"""A contest's rules as a value: what to print, how to match, what to rank by, whose tag is whose."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

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
}


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
        )

    @property
    def watched(self) -> str:
        return f"{self.registry}/{self.repository}"

    def reference(self, digest: Digest | str) -> Reference:
        return Reference.parse(f"{self.watched}@{digest}")

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
    try:
        mode = MatchMode(match)
    except ValueError:
        raise UsageError(f"--match {match}: give one of contains, line, exact") from None
    check_phrase(phrase, mode)
    if metric not in METRICS:
        raise UsageError(f"--metric {metric}: give one of {', '.join(METRICS)}")
    ref = Reference.parse(watched)
    if "@" in watched or ":" in watched.rpartition("/")[2]:
        raise UsageError(
            f"--repository {watched}: name a repository, without a tag or digest",
            hint="e.g. 127.0.0.1:5000/contest",
        )
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise UsageError(f"--entrant-pattern {pattern!r}: {error}") from None
    if "entrant" not in compiled.groupindex:
        raise UsageError(f"--entrant-pattern {pattern!r} has no (?P<entrant>…) group")
    start, end = _time(starts_at, "--starts"), _time(ends_at, "--ends")
    if start and end and end <= start:
        raise UsageError("--ends must be after --starts")
    return ref, start, end


def _time(text: str | None, flag: str) -> str | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: give an ISO-8601 time, e.g. 2026-12-01T09:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_time(moment)


__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_METRIC",
    "DEFAULT_PATTERN",
    "METRICS",
    "Contest",
    "check_rules",
]
