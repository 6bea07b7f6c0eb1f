"""Read side: open a contest, derive its standings, one submission, one entrant's history."""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.contest.errors import ContestNotFound, SubmissionNotFound
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import Standings, SubmissionState, derive
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventRow


def open_contest(db: Database, name: str | None = None) -> Contest:
    """The named contest, or the only one in the database."""

    def find(tx: Transaction) -> Contest:
        if name:
            row = q.contest_by_name(tx, name)
            if row is None:
                known = ", ".join(c.name for c in q.contests(tx)) or "none"
                raise ContestNotFound(f"no contest named {name!r} in {db.url} (known: {known})")
            return Contest.from_row(row)
        rows = q.contests(tx)
        if not rows:
            raise ContestNotFound(
                f"{db.url} holds no contest", hint="create one with `imagegolf contest init --repository …`"
            )
        if len(rows) > 1:
            raise ContestNotFound(
                f"{db.url} holds {len(rows)} contests: {', '.join(r.name for r in rows)}",
                hint="choose one with --contest NAME",
            )
        return Contest.from_row(rows[0])

    return db.run(find, write=False)


@dataclass(frozen=True)
class Snapshot:
    """Standings plus the id of the last event they include (a version for caches and live pages)."""

    contest: Contest
    standings: Standings
    version: int
    queue: dict[str, int]


def snapshot(db: Database, contest: Contest) -> Snapshot:
    def read(tx: Transaction) -> Snapshot:
        version = q.last_event_id(tx, contest.id)
        standings = derive(
            q.submissions(tx, contest.id),
            q.events(tx, contest.id),
            contest.metric,
            q.job_states(tx, contest.id),
        )
        return Snapshot(contest, standings, version, q.queue_counts(tx, contest.id))

    return db.run(read, write=False)


def standings(db: Database, contest: Contest) -> Standings:
    return snapshot(db, contest).standings


@dataclass(frozen=True)
class SubmissionDetail:
    contest: Contest
    state: SubmissionState
    events: tuple[EventRow, ...]  # this submission's events, oldest first
    same_digest: tuple[int, ...]  # other submissions of the same digest (judged once)


def submission_detail(db: Database, contest: Contest, key: str | int) -> SubmissionDetail:
    """A submission by id, or by digest (the earliest submission of that digest)."""
    snap = snapshot(db, contest)
    state = find_state(snap.standings, key)

    def read(tx: Transaction) -> SubmissionDetail:
        events = q.events(tx, contest.id, submission_id=state.submission.id)
        twins = tuple(
            s.id
            for s in q.submissions_with_digest(tx, contest.id, state.submission.digest)
            if s.id != state.submission.id
        )
        return SubmissionDetail(contest, state, tuple(events), twins)

    return db.run(read, write=False)


def find_state(standings: Standings, key: str | int) -> SubmissionState:
    text = str(key)
    if text.isdigit():
        found = standings.state(int(text))
        if found is not None:
            return found
        raise SubmissionNotFound(f"no submission #{text}")
    digest = text if text.startswith("sha256:") else f"sha256:{text}"
    matches = [s for s in standings.states if s.submission.digest.startswith(digest)]
    if not matches:
        raise SubmissionNotFound(f"no submission with digest {text}", hint="see `imagegolf contest board`")
    if len({s.submission.digest for s in matches}) > 1:
        raise SubmissionNotFound(f"{text} is ambiguous: {len(matches)} digests start with it")
    return matches[0]


def select_states(standings: Standings, keys: list[str] | None) -> list[SubmissionState]:
    """The submissions named by ``keys`` (ids or digests), or, with None, every judged one."""
    if keys is None:
        return [s for s in standings.states if s.judgement is not None]
    return [find_state(standings, key) for key in keys]


def history(db: Database, contest: Contest, entrant: str) -> tuple[SubmissionState, ...]:
    states = standings(db, contest).of(entrant)
    if not states:
        raise SubmissionNotFound(f"{entrant!r} has made no submission", hint="see `imagegolf contest board`")
    return states


def contest_events(
    db: Database, contest: Contest, after_id: int = 0, *, limit: int | None = None, newest_first: bool = False
) -> list[EventRow]:
    """The event log after ``after_id``, oldest first (or the newest ``limit`` first)."""
    return db.run(
        lambda tx: q.events(tx, contest.id, after_id=after_id, limit=limit, newest_first=newest_first),
        write=False,
    )


def version(db: Database, contest: Contest) -> tuple[int, dict[str, int]]:
    """The last event id and the job counts: what changes whenever the board may have changed."""
    return db.run(lambda tx: (q.last_event_id(tx, contest.id), q.queue_counts(tx, contest.id)), write=False)
