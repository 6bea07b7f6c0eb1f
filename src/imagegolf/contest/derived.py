"""The derived standings tables, kept in step with the events in the same transaction.

The events stay the single source of truth; these tables are a cache of what
:func:`imagegolf.contest.standings.derive` would compute from them, updated by each event that
changes them (so a page reads only the rows it shows, and recording a verdict touches only what
it moves):

- ``submission_states``: each submission's effective status, reason, verdict and size;
- ``fingerprints``: the manifest and layer digests of each accepted submission, so the
  duplicate rule re-runs only over the submissions that share one with the changed one;
- ``entrant_best``: each entrant's counts, latest submission, best and place on the board;
- ``records``: the record timeline;
- ``standings_meta``: the last event reflected, and counts.

Every event is written through :func:`record`. A contest whose tables are missing or behind its
events (a database written by an older release) is rebuilt from the events on first use;
``imagegolf contest reindex`` rebuilds on demand. A property-based test holds incremental ==
rebuilt == ``derive()`` over random event sequences, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from imagegolf.contest.judged import JudgedData
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import (
    DUPLICATE,
    Candidate,
    Status,
    SubmissionState,
    apply_copy,
    as_candidate,
    base_state,
    find_copies,
    settle,
)
from imagegolf.db import Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.clock import Moment
from imagegolf.db.records import EntrantRow, EventKind, MetaRow, StateRow, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.judge.verdict import Verdict

REBUILD_CHUNK = 500  # submissions read (with their events) at a time while rebuilding


def record(
    tx: Transaction,
    contest: Contest,
    kind: EventKind,
    actor: str,
    data: dict[str, Any],
    *,
    submission: SubmissionRow | None = None,
    at: Moment | None = None,
) -> int:
    """Append an event and bring the derived tables up to date with it, in ``tx``."""
    event_id = q.append_event(
        tx,
        contest.id,
        kind,
        actor,
        data,
        submission_id=None if submission is None else submission.id,
        digest=None if submission is None else submission.digest,
        at=at,
    )
    apply(tx, contest, event_id, None if submission is None else submission.id)
    return event_id


def apply(tx: Transaction, contest: Contest, event_id: int, submission_id: int | None) -> None:
    meta = d.meta(tx, contest.id, lock=True)  # held to commit: one writer of these rows at a time
    contest = _ranked_as_stored(tx, contest)
    if meta is None or meta.applied_event < d.last_event_before(tx, contest.id, event_id):
        rebuild(tx, contest)  # never built, or events were written without them: from scratch
        return
    counts = _Counts(meta)
    if submission_id is not None:
        _update(tx, contest, submission_id, counts)
    # Concurrent transactions may commit their events out of id order: keep the largest.
    d.put_meta(tx, contest.id, counts.row(max(meta.applied_event, event_id)))


def _ranked_as_stored(tx: Transaction, contest: Contest) -> Contest:
    """The contest with the metric its row holds now. A writer may hold an older value (a worker
    that claimed its job before `contest set --metric`); read after the lock above, the row is
    the committed one, so a verdict is never sized by the metric the board no longer uses."""
    row = q.contest_by_id(tx, contest.id)
    if row is None or row.metric == contest.metric:
        return contest
    return replace(contest, metric=row.metric)


def is_current(tx: Transaction, contest_id: int) -> bool:
    meta = d.meta(tx, contest_id)
    return meta is not None and meta.applied_event == q.last_event_id(tx, contest_id)


def rebuild_if_stale(tx: Transaction, contest: Contest) -> bool:
    if is_current(tx, contest.id):
        return False
    rebuild(tx, contest)
    return True


# one submission changed


class _Counts:
    """The meta row's counts, adjusted as submissions change within one event."""

    def __init__(self, meta: MetaRow) -> None:
        self.submissions, self.pending = meta.submissions, meta.pending
        self.ranked, self.entrants = meta.ranked, meta.entrants

    def row(self, applied: int) -> MetaRow:
        return MetaRow(applied, self.submissions, self.pending, self.ranked, self.entrants)


def _update(tx: Transaction, contest: Contest, submission_id: int, counts: _Counts) -> None:
    submission = q.submission(tx, submission_id)
    assert submission is not None  # events reference submissions (foreign key)
    base, judgement = base_state(
        submission, q.events(tx, contest.id, submission_id=submission_id), contest.metric
    )
    candidate = as_candidate(base, judgement)
    old_prints = d.prints_of(tx, [submission_id]).get(submission_id, [])
    new_prints = [str(p) for p in candidate.prints] if candidate else []
    if new_prints != old_prints:
        d.set_prints(tx, contest.id, submission_id, new_prints)
    changed = {submission_id: base}
    if old_prints or new_prints:
        changed.update(_recheck_copies(tx, contest, {*old_prints, *new_prints}, base))
    before = d.states(tx, changed)
    for sid in sorted(changed, key=lambda s: changed[s].submission.order):
        _put(tx, contest, before.get(sid), changed[sid], counts)


def _recheck_copies(
    tx: Transaction, contest: Contest, prints: set[str], changed: SubmissionState
) -> dict[int, SubmissionState]:
    """Run the duplicate rule again over every accepted submission linked to ``prints`` by shared
    fingerprints (a closed set: the answer is the one over all submissions)."""
    members: dict[int, list[str]] = {}
    seen, frontier = set(prints), set(prints)
    while frontier:
        found = d.holders(tx, contest.id, frontier) - set(members)
        linked = d.prints_of(tx, found)
        members.update(linked)
        frontier = {p for ps in linked.values() for p in ps} - seen
        seen |= frontier
    stored = d.states(tx, set(members) - {changed.submission.id})
    current = {sid: from_row(row) for sid, row in stored.items()}
    current[changed.submission.id] = changed
    copies = find_copies(
        Candidate(current[sid].submission, tuple(Digest.parse(p) for p in ps)) for sid, ps in members.items()
    )
    out: dict[int, SubmissionState] = {}
    for sid in members:
        state, copy = current[sid], copies.get(sid)
        if copy is not None:
            out[sid] = apply_copy(state, copy)
        elif state.status is DUPLICATE and sid != changed.submission.id:  # an original again
            out[sid] = replace(
                state, status=Status.ACCEPTED, reason=_judged_reason(tx, state), duplicate_of=None
            )
        else:
            out[sid] = state
    return out


def _judged_reason(tx: Transaction, state: SubmissionState) -> str:
    event = q.event(tx, state.judged_event or 0)
    assert event is not None  # a candidate has a judgement in effect
    return JudgedData.from_json(event.data).reason


def _put(
    tx: Transaction, contest: Contest, old: StateRow | None, new: SubmissionState, counts: _Counts
) -> None:
    row = to_row(new)
    if row == old:
        return
    d.put_state(tx, row)
    was_pending = old is not None and Status(old.status).pending
    counts.pending += int(new.pending) - int(was_pending)
    entrant = _entrant_after(tx, contest, old, new, counts)
    moved = old is None or (old.ranked, old.size) != (row.ranked, row.size)
    if moved:
        entrant = _rerank(tx, contest, entrant, counts)
        _retime(tx, contest, old, row)
    d.put_entrant(tx, contest.id, entrant)


def _entrant_after(
    tx: Transaction, contest: Contest, old: StateRow | None, new: SubmissionState, counts: _Counts
) -> EntrantRow:
    s = new.submission
    entrant = d.entrant(tx, contest.id, s.entrant)
    if entrant is None:
        counts.entrants += 1
        entrant = EntrantRow(s.entrant, s.first_seen, s.id, s.id, s.first_seen, 0, 0, None, None, None, None)
    if old is None:
        counts.submissions += 1
        entrant = replace(entrant, submissions=entrant.submissions + 1)
        if s.order < (entrant.joined, entrant.first_submission):
            entrant = replace(entrant, joined=s.first_seen, first_submission=s.id)
        if s.order > (entrant.latest_seen, entrant.latest):
            entrant = replace(entrant, latest=s.id, latest_seen=s.first_seen)
    accepted = entrant.accepted + int(new.ranked) - int(old is not None and old.ranked)
    return replace(entrant, accepted=accepted)


def _rerank(tx: Transaction, contest: Contest, entrant: EntrantRow, counts: _Counts) -> EntrantRow:
    """The entrant's best again, and their place: leaving shifts everyone below up by one,
    arriving shifts everyone from the new place down by one (cost: the entrants in between)."""
    best = d.best_of(tx, contest.id, entrant.entrant)
    key = None if best is None else (best.size, best.submission.first_seen, best.submission.id)
    if key == (entrant.size, entrant.reached, entrant.best):
        return entrant
    if entrant.place is not None:
        d.shift_places(tx, contest.id, from_place=entrant.place + 1, by=-1)
        counts.ranked -= 1
    if best is None or best.size is None:
        return replace(entrant, best=None, size=None, reached=None, place=None)
    at = best.submission.first_seen
    place = 1 + d.entrants_better_than(tx, contest.id, best.size, at, best.submission.id, entrant.entrant)
    d.shift_places(tx, contest.id, from_place=place, by=1)
    counts.ranked += 1
    return replace(entrant, best=best.submission.id, size=best.size, reached=at, place=place)


def _retime(tx: Transaction, contest: Contest, old: StateRow | None, new: StateRow) -> None:
    """Keep the record timeline: the ranked submissions smaller than every one before them."""
    s = new.submission
    order = s.order
    if old is not None and old.ranked and d.is_record(tx, contest.id, s.id):
        d.drop_record(tx, contest.id, s.id)
        before = d.record_before(tx, contest.id, order)
        limit = None if before is None else before[1]
        after = d.record_after(tx, contest.id, order)
        # Between this one and the next record, whatever is below the record before now sets one.
        between = d.states_in_order(tx, contest.id, after=order, before=after, ranked_only=True)
        found = []
        for row in between:
            if row.size is not None and (limit is None or row.size < limit):
                found.append((row.submission.id, row.submission.first_seen, row.size))
                limit = row.size
        d.add_records(tx, contest.id, found)
    if new.ranked and new.size is not None:
        before = d.record_before(tx, contest.id, order)
        if before is not None and before[1] <= new.size:
            return
        d.add_records(tx, contest.id, [(s.id, s.first_seen, new.size)])
        d.drop_records_after(tx, contest.id, order, new.size)


# rows and states


def to_row(state: SubmissionState) -> StateRow:
    return StateRow(
        state.submission,
        state.status.value,
        state.reason,
        None if state.verdict is None else state.verdict.value,
        state.size,
        None if state.metrics is None else dict(state.metrics),
        state.judged_at,
        state.judged_event,
        state.duplicate_of,
        state.ranked,
    )


def from_row(row: StateRow) -> SubmissionState:
    return SubmissionState(
        row.submission,
        Status(row.status),
        row.reason,
        None if row.verdict is None else Verdict(row.verdict),
        row.metrics,
        row.size,
        row.judged_at,
        row.judged_event,
        row.duplicate_of,
    )


# from scratch


def rebuild(tx: Transaction, contest: Contest) -> MetaRow:
    """Drop and rebuild the contest's derived tables from its events (memory: one chunk of
    events at a time, plus one small row per submission)."""
    if tx.dialect == "postgresql":  # two first readers of an old database: one rebuilds
        tx.execute("SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", (7302 * 2**32 + contest.id,))
    applied = q.last_event_id(tx, contest.id)
    d.clear(tx, contest.id)
    submissions = q.submissions(tx, contest.id)
    bases: list[SubmissionState] = []
    candidates: list[Candidate] = []
    for chunk in _chunks(submissions):
        events = q.events_of(tx, [s.id for s in chunk])
        for submission in chunk:
            state, judgement = base_state(submission, events[submission.id], contest.metric)
            bases.append(state)
            candidate = as_candidate(state, judgement)
            if candidate is not None:
                candidates.append(candidate)
    standings = settle(bases, find_copies(candidates), contest.metric)
    d.put_states(tx, [to_row(s) for s in standings.states])
    for candidate in candidates:
        d.set_prints(tx, contest.id, candidate.submission.id, [str(p) for p in candidate.prints])
    d.put_entrants(tx, contest.id, _entrant_rows(standings.states, {r.entrant: r for r in standings.board}))
    d.add_records(tx, contest.id, [(p.submission_id, p.at, p.size) for p in standings.records])
    meta = MetaRow(
        applied,
        len(standings.states),
        standings.pending,
        len(standings.board),
        len(standings.board) + len(standings.unranked),
    )
    d.put_meta(tx, contest.id, meta)
    return meta


def _chunks(rows: list[SubmissionRow]) -> Iterator[list[SubmissionRow]]:
    for start in range(0, len(rows), REBUILD_CHUNK):
        yield rows[start : start + REBUILD_CHUNK]


def _entrant_rows(states: tuple[SubmissionState, ...], board: dict[str, Any]) -> list[EntrantRow]:
    rows: dict[str, EntrantRow] = {}
    for state in states:  # first seen first
        s = state.submission
        row = rows.get(s.entrant) or EntrantRow(s.entrant, s.first_seen, s.id, s.id, s.first_seen, 0, 0,
                                                None, None, None, None)  # fmt: skip
        rows[s.entrant] = replace(
            row, latest=s.id, latest_seen=s.first_seen, submissions=row.submissions + 1,
            accepted=row.accepted + int(state.ranked),
        )  # fmt: skip
    for name, row in rows.items():
        ranked = board.get(name)
        if ranked is not None:
            best = ranked.best.submission
            rows[name] = replace(
                row, best=best.id, size=ranked.size, reached=best.first_seen, place=ranked.place
            )
    return list(rows.values())
