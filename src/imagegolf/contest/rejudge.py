"""Judge submissions again: preview the changes, or apply them as ``rejudged`` events.

Used when the rules or the judge changed (a bug fixed, a new engine). Runs in the organiser's
process on their engine; the web admin's re-judge queues ``rejudge`` jobs for the workers instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from imagegolf.contest import board_store, derived
from imagegolf.contest.judging import judge_digest
from imagegolf.contest.model import Contest
from imagegolf.contest.reads import select
from imagegolf.contest.standings import Standings, SubmissionState, derive
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind, EventRow
from imagegolf.digest import Digest
from imagegolf.engine import Engine
from imagegolf.judge.judged import JudgedData
from imagegolf.registry import RegistryClient


@dataclass(frozen=True)
class Change:
    state: SubmissionState  # before
    data: JudgedData  # the new judgement

    @property
    def old(self) -> str:
        return str(self.state.verdict or self.state.status)

    @property
    def new(self) -> str:
        return self.data.verdict.value


def rejudge(
    db: Database, contest: Contest, keys: list[str] | None, *, engine: Engine, registry: RegistryClient
) -> list[Change]:
    """Judge the chosen submissions (ids or digests; None: every judged one) again. Writes nothing.

    One judgement per digest: submissions sharing a digest share the new result.
    """
    targets = select(db, contest, keys)
    fresh: dict[Digest, JudgedData] = {}
    changes = []
    for state in targets:
        digest = state.submission.digest
        if digest not in fresh:
            fresh[digest] = judge_digest(
                contest, digest, registry=registry, engine=engine, entrant=state.submission.entrant
            )
        changes.append(Change(state, fresh[digest]))
    return changes


def preview(db: Database, contest: Contest, changes: list[Change], board: str | None = None) -> Standings:
    """A board's standings (None: the first board's) as they would be with ``changes`` applied."""

    def read(tx: Transaction) -> Standings:
        rules = board_store.find(tx, contest.id, board)
        events = q.events(tx, contest.id)
        next_id = max((e.id for e in events), default=0) + 1
        at = dt.datetime.now(dt.UTC)
        extra = [
            EventRow(
                next_id + n,
                contest.id,
                at,
                EventKind.REJUDGED,
                c.state.submission.id,
                c.state.submission.digest,
                "preview",
                c.data.to_json(),
            )
            for n, c in enumerate(changes)
        ]
        running = q.running_submissions(tx, contest.id)
        return derive(q.submissions(tx, contest.id), events + extra, rules, running)

    return db.run(read, write=False)


def apply(db: Database, contest: Contest, changes: list[Change], *, actor: str) -> int:
    def write(tx: Transaction) -> int:
        for change in changes:
            data = change.data.with_(previous=change.old).to_json()
            derived.record(tx, contest, EventKind.REJUDGED, actor, data, submission=change.state.submission)
        ids = [c.state.submission.id for c in changes]
        derived.record(tx, contest, EventKind.ADMIN, actor, {"action": "rejudge applied", "submissions": ids})
        return len(changes)

    return db.run(write)
