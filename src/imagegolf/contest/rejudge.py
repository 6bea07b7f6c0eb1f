"""Judge submissions again: preview the changes, or apply them as ``rejudged`` events.

Used when the rules or the judge changed (a bug fixed, a new engine). Runs in the organiser's
process on their engine; the web admin's re-judge queues ``rejudge`` jobs for the workers instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagegolf.contest.judging import judge_digest
from imagegolf.contest.model import Contest
from imagegolf.contest.reads import select_states, standings
from imagegolf.contest.standings import Standings, SubmissionState, derive
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventRow
from imagegolf.engine.client import Engine
from imagegolf.registry import RegistryClient


@dataclass(frozen=True)
class Change:
    state: SubmissionState  # before
    data: dict[str, Any]  # the new judgement

    @property
    def old(self) -> str:
        return self.state.verdict or self.state.status

    @property
    def new(self) -> str:
        return str(self.data["verdict"])


def rejudge(
    db: Database, contest: Contest, keys: list[str] | None, *, engine: Engine, registry: RegistryClient
) -> list[Change]:
    """Judge the chosen submissions (ids or digests; None: every judged one) again. Writes nothing.

    One judgement per digest: submissions sharing a digest share the new result.
    """
    targets = select_states(standings(db, contest), keys)
    fresh: dict[str, dict[str, Any]] = {}
    changes = []
    for state in targets:
        digest = state.submission.digest
        if digest not in fresh:
            fresh[digest] = judge_digest(contest, digest, registry=registry, engine=engine)
        changes.append(Change(state, fresh[digest]))
    return changes


def preview(db: Database, contest: Contest, changes: list[Change]) -> Standings:
    """The standings as they would be with ``changes`` applied."""

    def read(tx: Transaction) -> Standings:
        events = q.events(tx, contest.id)
        next_id = max((e.id for e in events), default=0) + 1
        extra = [
            EventRow(
                next_id + n,
                contest.id,
                "",
                "rejudged",
                c.state.submission.id,
                c.state.submission.digest,
                "preview",
                c.data,
            )
            for n, c in enumerate(changes)
        ]
        return derive(
            q.submissions(tx, contest.id), events + extra, contest.metric, q.job_states(tx, contest.id)
        )

    return db.run(read, write=False)


def apply(db: Database, contest: Contest, changes: list[Change], *, actor: str) -> int:
    def write(tx: Transaction) -> int:
        for change in changes:
            s = change.state.submission
            q.append_event(
                tx,
                contest.id,
                "rejudged",
                actor,
                dict(change.data, previous=change.old),
                submission_id=s.id,
                digest=s.digest,
            )
        q.append_event(
            tx,
            contest.id,
            "admin",
            actor,
            {"action": "rejudge applied", "submissions": [c.state.submission.id for c in changes]},
        )
        return len(changes)

    return db.run(write)
