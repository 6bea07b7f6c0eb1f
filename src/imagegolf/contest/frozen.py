"""The public standings while the scoreboard is frozen (``--freeze-at``), as DOMjudge does it.

From the freeze to the end (or until ``contest unfreeze``) the public board stops moving: a
submission first seen *before* the freeze shows everything it got, whenever it got it (a verdict
that arrives after the freeze, a re-judge, a disqualification); one first seen at or after the
freeze shows as FROZEN, "frozen: result hidden until the end", with no size and no verdict. The
organiser (the admin token) and each submission's own page see the real standings throughout.

Computed from the derived tables, not from the events: a submission's state depends only on
its own events and on *earlier* submissions (the duplicate rule takes the first to reach a
fingerprint), so the stored state of every pre-freeze submission is already what
``standings.derive`` over the pre-freeze submissions gives (a test holds it to that). The
frozen board is then the board of those states, with the later ones masked: one read of every
submission's state (as an export does), done once per version by the web site and shared by
every viewer. Each board freezes the same way (its own standings, the same submissions hidden):
:func:`frozen_view` reads one board.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from imagegolf.contest import board_store
from imagegolf.contest.errors import SubmissionNotFound
from imagegolf.contest.model import Contest
from imagegolf.contest.reads import (
    HISTORY_PAGE,
    LATEST_EVENTS,
    RECORDS_SHOWN,
    UNRANKED_SHOWN,
    BoardView,
    EntrantView,
    Snapshot,
    SubmissionsPage,
    Totals,
    Version,
    page_of,
    read_current,
    state_of,
    version_in,
)
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, Status, SubmissionState, settle
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind, EventRow
from imagegolf.judge.boards import Board

FROZEN_REASON = "frozen: result hidden until the end"
# The events that tell a submission's result: their data is hidden for a frozen submission.
RESULT_KINDS = frozenset(
    {
        EventKind.JUDGED,
        EventKind.REJUDGED,
        EventKind.PULL_FAILED,
        EventKind.DISQUALIFIED,
        EventKind.REINSTATED,
        EventKind.NOT_AN_ENTRANT,
    }
)


def hidden(contest: Contest, first_seen: dt.datetime) -> bool:
    """Whether a submission first seen then is hidden while the board is frozen."""
    return contest.freeze_at is not None and first_seen >= contest.freeze_at


def hide(state: SubmissionState) -> SubmissionState:
    """The public face of a submission first seen after the freeze: pending, nothing else."""
    return SubmissionState(state.submission, Status.FROZEN, FROZEN_REASON)


def freeze(contest: Contest, states: Iterable[SubmissionState], board: Board | None = None) -> Standings:
    """The frozen standings of a board (None: ranked by the contest's metric) from every
    submission's real state on it (first seen first): the board, the unranked entrants and the
    record timeline of the pre-freeze ones, the rest masked."""
    shown = [hide(s) if hidden(contest, s.submission.first_seen) else s for s in states]
    metric = contest.metric if board is None else board.metric
    return settle(shown, {}, metric)  # no copy to apply: each state already has its own


def mask_event(event: EventRow) -> EventRow:
    """An event of a frozen submission as the public sees it: what happened, not the result."""
    if event.kind not in RESULT_KINDS:
        return event
    return replace(event, data={"hidden": FROZEN_REASON})


@dataclass(frozen=True)
class FrozenView:
    """Every public read of one board of a frozen contest, from one read of the derived tables."""

    contest: Contest
    version: Version
    standings: Standings
    hidden: frozenset[int]  # the submissions first seen after the freeze
    latest: tuple[EventRow, ...]  # the newest events, newest first, masked
    by_id: dict[int, SubmissionState]  # every state in ``standings``, by submission id
    rules: Board  # the board (``board`` is the method that pages it)

    def states_of(self, ids: Iterable[int | None]) -> dict[int, SubmissionState]:
        return {i: self.by_id[i] for i in ids if i is not None and i in self.by_id}

    @property
    def places(self) -> dict[int, int]:
        return {row.best.submission.id: row.place for row in self.standings.board}

    def mask(self, events: Iterable[EventRow]) -> list[EventRow]:
        return [mask_event(e) if e.submission_id in self.hidden else e for e in events]

    def totals(self) -> Totals:
        s = self.standings
        return Totals(len(s.states), len(s.board) + len(s.unranked), len(s.board), s.pending, len(s.records))

    def board(self, page: int = 1, *, per_page: int = 100) -> BoardView:
        totals = self.totals()
        paging = page_of(page, per_page, totals.ranked)
        rows = self.standings.board[paging.first - 1 : paging.first - 1 + per_page]
        latest: dict[str, SubmissionState] = {}
        for state in self.standings.states:  # first seen first: the last one wins
            latest[state.submission.entrant] = state
        unranked = tuple(latest[name] for name in self.standings.unranked[:UNRANKED_SHOWN])
        records = self.standings.records[-RECORDS_SHOWN:]
        return BoardView(
            self.contest, self.version, totals, paging, rows, unranked, records, self.latest, self.rules
        )

    def entrant(self, name: str, page: int = 1, *, per_page: int = HISTORY_PAGE) -> EntrantView:
        states = self.standings.of(name)
        if not states:
            raise SubmissionNotFound(f"{name!r} has made no submission", hint="see the board")
        paging = page_of(page, per_page, len(states))
        row = next((r for r in self.standings.board if r.entrant == name), None)
        shown = states[paging.first - 1 : paging.first - 1 + per_page]
        return EntrantView(self.contest, name, row, paging, shown, self.rules)

    def submissions(self, *, after: int | None = None, limit: int = HISTORY_PAGE) -> SubmissionsPage:
        states = self.standings.states
        start = 0
        if after is not None:
            found = next((n for n, s in enumerate(states) if s.submission.id == after), None)
            if found is None:
                raise SubmissionNotFound(f"no submission #{after}")
            start = found + 1
        page = states[start : start + limit]
        places = self.places
        return SubmissionsPage(page, {s.submission.id: places[s.submission.id] for s in page
                                      if s.submission.id in places})  # fmt: skip

    def records(self) -> tuple[RecordPoint, ...]:
        return self.standings.records

    def snapshot(self) -> Snapshot:
        return Snapshot(self.contest, self.standings, self.version, self.rules)

    def row(self, entrant: str) -> BoardRow | None:
        return next((r for r in self.standings.board if r.entrant == entrant), None)


def frozen_view(db: Database, contest: Contest, board: str | None = None) -> FrozenView:
    """The frozen standings of a board (None: the first) now: every submission's state on it
    read once, the later ones masked."""

    def read(tx: Transaction) -> FrozenView:
        rules = board_store.find(tx, contest.id, board)
        running = q.running_submissions(tx, contest.id)
        states = [state_of(r, running) for r in d.states_in_order(tx, contest.id, rules.name)]
        standings = freeze(contest, states, rules)
        hidden_ids = frozenset(s.submission.id for s in states if hidden(contest, s.submission.first_seen))
        newest = q.events(tx, contest.id, limit=LATEST_EVENTS, newest_first=True)
        latest = tuple(mask_event(e) if e.submission_id in hidden_ids else e for e in newest)
        by_id = {s.submission.id: s for s in standings.states}
        return FrozenView(contest, version_in(tx, contest), standings, hidden_ids, latest, by_id, rules)

    return read_current(db, contest, read)


__all__ = ["FROZEN_REASON", "FrozenView", "freeze", "frozen_view", "hidden", "hide", "mask_event"]
