"""Creating a contest, and rebuilding its derived standings from its events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from imagegolf.contest.admin import create_contest
from imagegolf.contest.derived import rebuild
from imagegolf.contest.model import Contest
from imagegolf.contest.service.opening import ContestAt, opened, opened_database
from imagegolf.db.records import MetaRow
from imagegolf.judge.engines import check_runtime


@dataclass(frozen=True)
class JudgingLimits:
    """How every submission is judged: submissions per entrant per hour (0: no limit), runs per
    image, the wall-time limit of a run, whether the engine's size is compared with the judge's,
    and the runtime images run under."""

    per_entrant_per_hour: int = 30
    runs: int = 3
    timeout_s: float = 10.0
    cross_check: bool = True
    runtime: str = "runc"


@dataclass(frozen=True)
class ContestSpec:
    """A new contest's settings (docs/contest.md): each is checked when the contest is created."""

    name: str
    repository: str
    phrase: str
    match: str = "contains"
    metric: str = "docker_classic"
    platform: str | None = None
    entrant_pattern: str = r"(?P<entrant>.+)"
    entrant_map: dict[str, str] = field(default_factory=dict)
    identity: str = "tag"
    repositories: str = "shared"
    starts_at: str | None = None
    ends_at: str | None = None
    freeze_at: str | None = None
    limits: JudgingLimits = JudgingLimits()


def create(db_url: str, spec: ContestSpec) -> tuple[Contest, str]:
    """Create the contest (and the database if missing); the contest and where it is."""
    limits = spec.limits
    with opened_database(db_url) as db:
        contest = create_contest(
            db,
            name=spec.name,
            phrase=spec.phrase,
            repository=spec.repository,
            match=spec.match,
            metric=spec.metric,
            platform=spec.platform,
            entrant_pattern=spec.entrant_pattern,
            entrant_map=dict(spec.entrant_map),
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            limits={
                "per_entrant_per_hour": limits.per_entrant_per_hour,
                "runs": limits.runs,
                "timeout_s": limits.timeout_s,
                "cross_check": limits.cross_check,
                "runtime": check_runtime(limits.runtime, "runtime"),
            },
            identity=spec.identity,
            repositories=spec.repositories,
            freeze_at=spec.freeze_at,
        )
        return contest, str(db.url)


@dataclass(frozen=True)
class Rebuilt:
    contest: Contest
    summary: MetaRow
    seconds: float


def reindex(where: ContestAt) -> Rebuilt:
    """Rebuild the derived standings (board, statuses, timeline) from the events."""
    with opened(where) as (db, contest):
        started = time.monotonic()
        summary = db.run(lambda tx: rebuild(tx, contest))
        return Rebuilt(contest, summary, time.monotonic() - started)


__all__ = ["ContestSpec", "JudgingLimits", "Rebuilt", "create", "reindex"]
