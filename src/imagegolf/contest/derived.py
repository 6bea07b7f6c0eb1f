"""The derived standings tables, kept in step with the events in the same transaction.

The events stay the single source of truth; these tables are a cache of what
:func:`imagegolf.contest.standings.derive` would compute from them for each of the contest's
boards (every row carries its board), updated by each event that changes them (so a page reads
only the rows it shows, and recording a verdict touches only what it moves, on every board: the
cost of an event is the number of boards times that of one):

- ``submission_states``: each submission's effective status, reason, verdict and size;
- ``fingerprints``: the manifest and layer digests of each accepted submission, so the
  duplicate rule re-runs only over the submissions that share one with the changed one;
- ``entrant_best``: each entrant's counts, latest submission, best and place on the board;
- ``records``: the record timeline;
- ``standings_meta``: the last event reflected, and counts (a row per board).

Every event is written through :func:`record`. A contest whose tables are missing or behind its
events (a database written by an older release) is rebuilt from the events on first use;
``imagegolf contest reindex`` rebuilds on demand. A property-based test holds incremental ==
rebuilt == ``derive()`` over random event sequences and boards, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from imagegolf.contest import board_store, outbox
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import (
    DUPLICATE,
    MAIN,
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
from imagegolf.db.records import EntrantRow, EventKind, EventRow, MetaRow, StateRow, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.judge.boards import Board, on_board
from imagegolf.judge.judged import JudgedData
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
    outbox.enqueue(tx, contest, event_id, kind, submission)  # the notifications it causes (webhooks)
    return event_id


def apply(tx: Transaction, contest: Contest, event_id: int, submission_id: int | None) -> None:
    metas = d.metas(tx, contest.id, lock=True)  # held to commit: one writer of these rows at a time
    # The boards as stored now, read after the lock: a writer holding an older Contest (a worker
    # that claimed its job before `contest set --metric` or `contest board add`) still sizes and
    # ranks by the boards the contest has.
    boards = board_store.load(tx, contest.id)
    if set(metas) != {b.name for b in boards}:  # a board added or removed while this waited for
        metas = d.metas(tx, contest.id)  # the lock (PostgreSQL): its rows, as committed
    last = d.last_event_before(tx, contest.id, event_id)
    if set(metas) != {b.name for b in boards} or any(m.applied_event < last for m in metas.values()):
        rebuild(tx, contest)  # never built, or events were written without them: from scratch
        return
    submission, events = None, []
    if submission_id is not None:
        submission = q.submission(tx, submission_id)
        assert submission is not None  # events reference submissions (foreign key)
        events = q.events(tx, contest.id, submission_id=submission_id)
    for board in boards:
        meta = metas[board.name]
        counts = _Counts(meta)
        if submission is not None:
            _update(tx, contest.id, board, submission, events, counts)
        # Concurrent transactions may commit their events out of id order: keep the largest.
        d.put_meta(tx, contest.id, board.name, counts.row(max(meta.applied_event, event_id)))


def is_current(tx: Transaction, contest_id: int) -> bool:
    """Whether every board's rows reflect the contest's last event."""
    return d.current(tx, contest_id, q.last_event_id(tx, contest_id))


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


def _update(
    tx: Transaction,
    contest_id: int,
    board: Board,
    submission: SubmissionRow,
    events: list[EventRow],
    counts: _Counts,
) -> None:
    """Bring one board up to date with a change of one submission (``events``: all of its own)."""
    submission_id = submission.id
    base, judgement = base_state(submission, events, board)
    candidate = as_candidate(base, judgement, board)
    old_prints = d.prints_of(tx, board.name, [submission_id]).get(submission_id, [])
    new_prints = [str(p) for p in candidate.prints] if candidate else []
    if new_prints != old_prints:
        d.set_prints(tx, contest_id, board.name, submission_id, new_prints)
    changed = {submission_id: base}
    if old_prints or new_prints:
        changed.update(_recheck_copies(tx, contest_id, board, {*old_prints, *new_prints}, base))
    before = d.states(tx, board.name, changed)
    for sid in sorted(changed, key=lambda s: changed[s].submission.order):
        _put(tx, contest_id, board.name, before.get(sid), changed[sid], counts)


def _recheck_copies(
    tx: Transaction, contest_id: int, board: Board, prints: set[str], changed: SubmissionState
) -> dict[int, SubmissionState]:
    """Run the duplicate rule again over every submission accepted on the board that is linked
    to ``prints`` by shared fingerprints (a closed set: the answer is the one over all of them)."""
    members: dict[int, list[str]] = {}
    seen, frontier = set(prints), set(prints)
    while frontier:
        found = d.holders(tx, contest_id, board.name, frontier) - set(members)
        linked = d.prints_of(tx, board.name, found)
        members.update(linked)
        frontier = {p for ps in linked.values() for p in ps} - seen
        seen |= frontier
    stored = d.states(tx, board.name, set(members) - {changed.submission.id})
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
                state, status=Status.ACCEPTED, reason=_judged_reason(tx, state, board), duplicate_of=None
            )
        else:
            out[sid] = state
    return out


def _judged_reason(tx: Transaction, state: SubmissionState, board: Board) -> str:
    """The reason the board gives the judgement in effect (that of an accepted image)."""
    event = q.event(tx, state.judged_event or 0)
    assert event is not None  # a candidate has a judgement in effect
    return on_board(board, JudgedData.from_json(event.data)).reason


def _put(
    tx: Transaction, contest_id: int, board: str, old: StateRow | None, new: SubmissionState, counts: _Counts
) -> None:
    row = to_row(new, board)
    if row == old:
        return
    d.put_state(tx, row)
    was_pending = old is not None and Status(old.status).pending
    counts.pending += int(new.pending) - int(was_pending)
    entrant = _entrant_after(tx, contest_id, board, old, new, counts)
    moved = old is None or (old.ranked, old.size) != (row.ranked, row.size)
    if moved:
        entrant = _rerank(tx, contest_id, board, entrant, counts)
        _retime(tx, contest_id, board, old, row)
    d.put_entrant(tx, contest_id, board, entrant)


def _entrant_after(
    tx: Transaction, contest_id: int, board: str, old: StateRow | None, new: SubmissionState, counts: _Counts
) -> EntrantRow:
    s = new.submission
    entrant = d.entrant(tx, contest_id, board, s.entrant)
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


def _rerank(
    tx: Transaction, contest_id: int, board: str, entrant: EntrantRow, counts: _Counts
) -> EntrantRow:
    """The entrant's best again, and their place: leaving shifts everyone below up by one,
    arriving shifts everyone from the new place down by one (cost: the entrants in between)."""
    best = d.best_of(tx, contest_id, board, entrant.entrant)
    key = None if best is None else (best.size, best.submission.first_seen, best.submission.id)
    if key == (entrant.size, entrant.reached, entrant.best):
        return entrant
    if entrant.place is not None:
        d.shift_places(tx, contest_id, board, from_place=entrant.place + 1, by=-1)
        counts.ranked -= 1
    if best is None or best.size is None:
        return replace(entrant, best=None, size=None, reached=None, place=None)
    at = best.submission.first_seen
    place = 1 + d.entrants_better_than(
        tx, contest_id, board, best.size, at, best.submission.id, entrant.entrant
    )
    d.shift_places(tx, contest_id, board, from_place=place, by=1)
    counts.ranked += 1
    return replace(entrant, best=best.submission.id, size=best.size, reached=at, place=place)


def _retime(tx: Transaction, contest_id: int, board: str, old: StateRow | None, new: StateRow) -> None:
    """Keep the record timeline: the ranked submissions smaller than every one before them."""
    s = new.submission
    order = s.order
    if old is not None and old.ranked and d.is_record(tx, contest_id, board, s.id):
        d.drop_record(tx, contest_id, board, s.id)
        before = d.record_before(tx, contest_id, board, order)
        limit = None if before is None else before[1]
        after = d.record_after(tx, contest_id, board, order)
        # Between this one and the next record, whatever is below the record before now sets one.
        between = d.states_in_order(tx, contest_id, board, after=order, before=after, ranked_only=True)
        found = []
        for row in between:
            if row.size is not None and (limit is None or row.size < limit):
                found.append((row.submission.id, row.submission.first_seen, row.size))
                limit = row.size
        d.add_records(tx, contest_id, board, found)
    if new.ranked and new.size is not None:
        before = d.record_before(tx, contest_id, board, order)
        if before is not None and before[1] <= new.size:
            return
        d.add_records(tx, contest_id, board, [(s.id, s.first_seen, new.size)])
        d.drop_records_after(tx, contest_id, board, order, new.size)


# rows and states


def to_row(state: SubmissionState, board: str) -> StateRow:
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
        board,
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
    """Drop and rebuild the contest's derived tables, every board's, from its events (memory:
    one chunk of events at a time, plus one small row per submission and board). Returns the
    first board's bookkeeping row."""
    if tx.dialect == "postgresql":  # two first readers of an old database: one rebuilds
        tx.execute("SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", (7302 * 2**32 + contest.id,))
    d.clear(tx, contest.id)  # every board's rows, a removed board's too
    boards = board_store.load(tx, contest.id)
    if not boards:  # a contest row written without its boards (by hand): the one board of old
        row = q.contest_by_id(tx, contest.id)
        main = Board(MAIN, row.metric if row is not None else contest.metric)
        q.insert_board(tx, contest.id, board_store.to_record(main, 0))
        boards = (main,)
    return _build(tx, contest.id, boards)[0]


def build_board(tx: Transaction, contest: Contest, board: Board) -> MetaRow:
    """Drop and rebuild one board's rows from the events (a board just added, or whose metric
    changed); the other boards' rows are left as they are. Call it holding the contest's lock
    (``d.metas(…, lock=True)``), with the board stored."""
    d.clear(tx, contest.id, board.name)
    return _build(tx, contest.id, (board,))[0]


def _build(tx: Transaction, contest_id: int, boards: tuple[Board, ...]) -> list[MetaRow]:
    applied = q.last_event_id(tx, contest_id)
    submissions = q.submissions(tx, contest_id)
    bases: dict[str, list[SubmissionState]] = {b.name: [] for b in boards}
    candidates: dict[str, list[Candidate]] = {b.name: [] for b in boards}
    for chunk in _chunks(submissions):
        events = q.events_of(tx, [s.id for s in chunk])
        for submission in chunk:
            for board in boards:  # the events of a submission read once, for every board
                state, judgement = base_state(submission, events[submission.id], board)
                bases[board.name].append(state)
                candidate = as_candidate(state, judgement, board)
                if candidate is not None:
                    candidates[board.name].append(candidate)
    metas = []
    for board in boards:
        name = board.name
        standings = settle(bases.pop(name), find_copies(candidates[name]), board.metric)
        d.put_states(tx, [to_row(s, name) for s in standings.states])
        for candidate in candidates.pop(name):
            d.set_prints(tx, contest_id, name, candidate.submission.id, [str(p) for p in candidate.prints])
        ranked = {r.entrant: r for r in standings.board}
        d.put_entrants(tx, contest_id, name, _entrant_rows(standings.states, ranked))
        d.add_records(tx, contest_id, name, [(p.submission_id, p.at, p.size) for p in standings.records])
        meta = MetaRow(
            applied,
            len(standings.states),
            standings.pending,
            len(standings.board),
            len(standings.board) + len(standings.unranked),
        )
        d.put_meta(tx, contest_id, name, meta)
        metas.append(meta)
    return metas


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
