"""Outgoing notifications, the writing half: after each event, in its transaction, queue what the
contest's webhooks asked to hear of (docs/contest.md, "Notifications").

:func:`enqueue` is called by :func:`imagegolf.contest.derived.record` once the derived tables
reflect the event, so what changed is read from them:

- ``verdict``: every ``judged`` or ``rejudged`` event: the judge's verdict, and the status and
  size each board gives it;
- ``first``: an entrant's first accepted submission: after a judgement or a reinstatement, the
  submission is ranked on a board and the entrant has no other ranked submission on any board.
  One per entrant and webhook, ever;
- ``record``: a board's record (the last step of its record timeline) is now smaller than the
  one the outbox saw last (``notify_marks``). The marks follow every event while a webhook is
  configured; a change that comes with no submission (a metric change, a board added) moves
  the mark without a notification, as does a record that goes back up (a disqualification).

Each is one outbox row per webhook, keyed ``<contest>:<webhook>:<event>:<kind>[:<board>]`` (its
``Idempotency-Key``). A notification about a submission the public board hides (first seen
during a freeze, while frozen) is ``held`` until the board is not frozen any more. A contest
without webhooks pays one indexed read per event.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from imagegolf.contest.model import Contest
from imagegolf.contest.notify_format import PAYLOAD_VERSION, REASON_MAX, clip, compose
from imagegolf.contest.standings import status_label
from imagegolf.db import Transaction
from imagegolf.db import derived as d
from imagegolf.db import notify as n
from imagegolf.db import queries as q
from imagegolf.db.clock import format_time
from imagegolf.db.records import EventKind, StateRow, SubmissionRow

JUDGED = (EventKind.JUDGED, EventKind.REJUDGED)
MAY_ACCEPT = (EventKind.JUDGED, EventKind.REJUDGED, EventKind.REINSTATED)


@dataclass(frozen=True)
class Note:
    """One thing to tell the webhooks that asked for its kind."""

    kind: str  # record | first | verdict
    board: str | None
    metric: str
    submission: SubmissionRow
    state: StateRow | None
    previous: dict[str, Any] | None = None  # the record it broke: {"size", "entrant", "submission"}
    boards: tuple[dict[str, Any], ...] = ()  # a verdict: each board's status and size
    verdict: str | None = None  # a verdict: the judge's own (a board may see it otherwise)


def enqueue(
    tx: Transaction, contest: Contest, event_id: int, kind: EventKind, submission: SubmissionRow | None
) -> int:
    """Queue the notifications event ``event_id`` causes; how many rows were written."""
    hooks = n.webhooks(tx, contest.id)
    if not hooks:
        return 0
    row = q.contest_by_id(tx, contest.id)  # as stored now: the metric, the freeze
    fresh = Contest.from_row(row) if row is not None else contest
    boards = [(b.name, b.metric) for b in q.boards(tx, contest.id)]
    event = q.event(tx, event_id)
    assert event is not None  # appended in this transaction
    notes: list[Note] = []
    if submission is not None:
        states = d.states_on_every_board(tx, submission.id)
        if kind in JUDGED:
            notes.extend(_verdict(boards, submission, states, event.data))
        if kind in MAY_ACCEPT:
            notes.extend(_first(tx, fresh, boards, submission, states))
    notes.extend(_records(tx, fresh, boards, announce=submission is not None))
    if not notes:
        return 0
    at = format_time(event.at)
    now = dt.datetime.now(dt.UTC)
    written = 0
    for note in notes:
        hidden = _hidden(fresh, note.submission, now)
        for hook in hooks:
            if note.kind not in hook.kinds:
                continue
            if note.kind == "record" and hook.boards and note.board not in hook.boards:
                continue
            if note.kind == "first" and n.has_first(tx, hook.id, note.submission.entrant):
                continue
            key = f"{contest.id}:{hook.id}:{event_id}:{note.kind}" + (
                f":{note.board}" if note.kind == "record" and note.board else ""
            )
            body = payload(fresh, note, key=key, event_id=event_id, at=at, site=hook.site, kind=kind)
            added = n.insert_delivery(
                tx, contest_id=contest.id, webhook_id=hook.id, event_id=event_id, kind=note.kind,
                key=key, entrant=note.submission.entrant, board=note.board,
                submission_id=note.submission.id, payload=json.dumps(body, ensure_ascii=False),
                held=hidden,
            )  # fmt: skip
            written += added is not None
    return written


def _hidden(contest: Contest, submission: SubmissionRow, at: dt.datetime) -> bool:
    """Whether the public board hides this submission's result now (contest/frozen.py's rule)."""
    return contest.frozen(at) and contest.freeze_at is not None and submission.first_seen >= contest.freeze_at


def _verdict(
    boards: list[tuple[str, str]],
    submission: SubmissionRow,
    states: dict[str, StateRow],
    judged: dict[str, Any],
) -> list[Note]:
    shown = [
        {"board": name, "status": status_label(s.status, s.duplicate_of), "size": s.size, "metric": metric}
        for name, metric in boards
        if (s := states.get(name)) is not None
    ]
    main = next(((name, metric) for name, metric in boards if name in states), None)
    if main is None:
        return []
    state = states[main[0]]
    verdict = judged.get("verdict")
    return [
        Note(
            "verdict", main[0], main[1], submission, state, boards=tuple(shown),
            verdict=None if verdict is None else str(verdict),
        )
    ]  # fmt: skip


def _first(
    tx: Transaction,
    contest: Contest,
    boards: list[tuple[str, str]],
    submission: SubmissionRow,
    states: dict[str, StateRow],
) -> list[Note]:
    ranked = [(name, metric) for name, metric in boards if (s := states.get(name)) is not None and s.ranked]
    if not ranked:
        return []
    rows = d.entrant_on_every_board(tx, contest.id, submission.entrant)
    for name, _metric in boards:
        entrant, state = rows.get(name), states.get(name)
        mine = 1 if state is not None and state.ranked else 0
        if entrant is not None and entrant.accepted > mine:
            return []  # another submission of theirs is accepted on this board: not their first
    name, metric = ranked[0]
    return [Note("first", name, metric, submission, states[name])]


def _records(
    tx: Transaction, contest: Contest, boards: list[tuple[str, str]], *, announce: bool
) -> list[Note]:
    notes = []
    for name, metric in boards:
        ids = d.record_ids(tx, contest.id, name, limit=1)
        holder = d.state(tx, ids[-1], name) if ids else None
        now = (None, None) if holder is None else (holder.submission.id, holder.size)
        seen = n.mark(tx, contest.id, name)
        if seen == (metric, *now):
            continue
        n.put_mark(tx, contest.id, name, metric, *now)
        if seen is None or seen[0] != metric or not announce or holder is None or holder.size is None:
            continue  # first look, another metric, a change no submission made, or no record now
        if seen[2] is not None and holder.size >= seen[2]:
            continue  # not smaller: the record went back up (a disqualification), or no change
        previous = None
        if seen[1] is not None and seen[2] is not None:
            was = q.submission(tx, seen[1])
            previous = {"size": seen[2], "entrant": was.entrant if was else None, "submission": seen[1]}
        notes.append(Note("record", name, metric, holder.submission, holder, previous=previous))
    return notes


def payload(
    contest: Contest,
    note: Note,
    *,
    key: str,
    event_id: int,
    at: str,
    site: str | None,
    kind: EventKind,
) -> dict[str, Any]:
    """The generic JSON body (docs/contest.md, "Notifications", has its schema)."""
    s, state = note.submission, note.state
    body: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "id": key,
        "kind": note.kind,
        "contest": contest.name,
        "board": note.board,
        "entrant": s.entrant,
        "submission": s.id,
        "tag": s.tag,
        "digest": str(s.digest),
        "verdict": note.verdict or (None if state is None else state.verdict),
        "status": None if state is None else status_label(state.status, state.duplicate_of),
        "reason": None if state is None else clip(state.reason, REASON_MAX),
        "size": None if state is None else state.size,
        "metric": note.metric,
        "previous_record": note.previous,
        "boards": list(note.boards),
        "rejudged": kind is EventKind.REJUDGED,
        "page": f"{site.rstrip('/')}/submissions/{s.id}" if site else None,
        "at": at,
        "event": event_id,
    }
    body["text"] = compose(body)
    return body


__all__ = ["enqueue", "payload"]
