"""Read side: open a contest; read a board, a page of submissions, an entrant, one submission.

Every read is answered from the derived tables (contest/derived.py) and reads only the rows it
shows: a board page, a page of history, one submission and its events. Their cost does not grow
with the contest's history. Each read first checks that the tables reflect the last event (two
index lookups); a contest whose tables are behind (written by an older release) is rebuilt once.
The full :class:`Standings` (every submission) is for exports and organiser commands only.

A contest has one or more boards (judge/boards.py), each ranking the same judgements by its
own rules. Every read of standings takes ``board``: a board's name, or None for the first (the
contest's main board); an unknown name is ``BoardNotFound`` (contest/errors.py). :func:`boards` lists them,
:func:`summaries` gives each one's leader and record, and :func:`submission_detail` gives a
submission's status and place on every board.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from imagegolf.contest import board_store
from imagegolf.contest.derived import from_row, is_current, rebuild_if_stale
from imagegolf.contest.errors import ContestNotFound, NoContest, SeveralContests, SubmissionNotFound
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, SubmissionState, record_point
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.records import EntrantRow, EventRow, StateRow
from imagegolf.errors import UsageError
from imagegolf.judge.boards import Board
from imagegolf.judge.judged import JudgedData

T = TypeVar("T")
BOARD_PAGE = 100  # entrants per board page
HISTORY_PAGE = 100  # submissions per page of a history or of the submission list
UNRANKED_SHOWN = 50  # entrants not on the board, listed on the board page
RECORDS_SHOWN = 500  # the newest records drawn on the board's timeline
LATEST_EVENTS = 15


def open_contest(db: Database, name: str | None = None) -> Contest:
    """The named contest, or the only one in the database (its derived tables built if missing)."""

    def find(tx: Transaction) -> Contest:
        if name:
            row = q.contest_by_name(tx, name)
            if row is None:
                known = ", ".join(c.name for c in q.contests(tx)) or "none"
                raise ContestNotFound(f"no contest named {name!r} in {db.url} (known: {known})")
            return Contest.from_row(row)
        rows = q.contests(tx)
        if not rows:
            raise NoContest(f"{db.url} holds no contest", hint="create one first")
        if len(rows) > 1:
            raise SeveralContests(
                f"{db.url} holds {len(rows)} contests: {', '.join(r.name for r in rows)}",
                hint="name the contest",
            )
        return Contest.from_row(rows[0])

    contest = db.run(find, write=False)
    _read(db, contest, lambda tx: None)
    return contest


def reload(db: Database, contest: Contest) -> Contest:
    """The contest's row as it is now (after a `contest set` or `contest unfreeze` elsewhere)."""

    def read(tx: Transaction) -> Contest:
        row = q.contest_by_id(tx, contest.id)
        if row is None:
            raise ContestNotFound(f"contest {contest.name!r} is no longer in {db.url}")
        return Contest.from_row(row)

    return db.run(read, write=False)


def _read(db: Database, contest: Contest, work: Callable[[Transaction], T]) -> T:
    """Run ``work`` in a read transaction on current derived tables (rebuilt first if behind)."""

    def read(tx: Transaction) -> tuple[bool, T | None]:
        if not is_current(tx, contest.id):
            return False, None
        return True, work(tx)

    current, result = db.run(read, write=False)
    if current:
        return result  # type: ignore[return-value]
    db.run(lambda tx: rebuild_if_stale(tx, contest))
    return db.run(work, write=False)


# values the pages show


@dataclass(frozen=True)
class Version:
    """What changes whenever the board may have: the last event id and the queue's counts."""

    last_event: int
    queued: int
    running: int

    @property
    def etag(self) -> str:
        return f"{self.last_event}-{self.queued}-{self.running}"

    @property
    def queue(self) -> dict[str, int]:
        return {"queued": self.queued, "running": self.running}


@dataclass(frozen=True)
class Totals:
    submissions: int
    entrants: int
    ranked: int  # entrants on the board
    pending: int  # QUEUED, JUDGING or RETRYING
    records: int


@dataclass(frozen=True)
class Page:
    number: int  # from 1
    size: int
    total: int  # items in all pages

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """The 1-based position of this page's first item."""
        return (self.number - 1) * self.size + 1


@dataclass(frozen=True)
class BoardView:
    contest: Contest
    version: Version
    totals: Totals  # of this board
    page: Page
    rows: tuple[BoardRow, ...]  # this page's entrants, by place
    unranked: tuple[SubmissionState, ...]  # the latest submission of entrants not on the board
    records: tuple[RecordPoint, ...]  # the newest records, oldest first
    latest: tuple[EventRow, ...]  # the newest events, newest first
    board: Board  # which board, and its rules


@dataclass(frozen=True)
class EntrantView:
    contest: Contest
    entrant: str
    row: BoardRow | None  # their place and best on the board, if ranked
    page: Page
    states: tuple[SubmissionState, ...]  # this page of their history, first seen first
    board: Board


@dataclass(frozen=True)
class Placing:
    """A submission on one board: its status there, and its place if it is its entrant's best."""

    board: Board
    state: SubmissionState
    place: int | None


@dataclass(frozen=True)
class SubmissionDetail:
    contest: Contest
    state: SubmissionState  # on the first board
    judgement: JudgedData | None  # the whole judgement in effect (runs, layers, notes, entry)
    place: int | None  # its place on the first board, if it is its entrant's ranked best
    events: tuple[EventRow, ...]  # this submission's events, oldest first
    same_digest: tuple[int, ...]  # other submissions of the same digest (judged once)
    boards: tuple[Placing, ...] = ()  # its status and place on every board, in board order


@dataclass(frozen=True)
class Snapshot:
    """Every submission's state on one board, its board and timeline (exports, organiser commands)."""

    contest: Contest
    standings: Standings
    version: Version
    board: Board


@dataclass(frozen=True)
class BoardSummary:
    """A board at a glance (the list of boards, tabs): its rules, leader, record and counts."""

    board: Board
    leader: BoardRow | None  # first place, if anyone is ranked
    record: RecordPoint | None  # the current record: the newest point of the timeline
    totals: Totals


# reads


def version(db: Database, contest: Contest) -> Version:
    """Two index lookups: the last event id, and how many jobs are queued and running."""

    return db.run(lambda tx: _version(tx, contest), write=False)


def boards(db: Database, contest: Contest) -> tuple[Board, ...]:
    """The contest's boards, in order: the first is its main board."""
    return db.run(lambda tx: board_store.load(tx, contest.id), write=False)


def board_named(db: Database, contest: Contest, name: str | None = None) -> Board:
    """The board called ``name`` (None: the first), or :class:`BoardNotFound`."""
    return db.run(lambda tx: board_store.find(tx, contest.id, name), write=False)


def board(
    db: Database,
    contest: Contest,
    page: int = 1,
    *,
    per_page: int = BOARD_PAGE,
    board: str | None = None,
) -> BoardView:
    """A page of a board (``board``: its name; None: the first), with its newest records."""

    def read(tx: Transaction) -> BoardView:
        rules = board_store.find(tx, contest.id, board)
        name = rules.name
        running = q.running_submissions(tx, contest.id)
        totals = _totals(tx, contest, name)
        paging = _page(page, per_page, totals.ranked)
        entrants = d.board(tx, contest.id, name, first_place=paging.first, limit=per_page)
        unranked = d.unranked(tx, contest.id, name, limit=UNRANKED_SHOWN)
        ids = [e.best for e in entrants if e.best is not None] + [e.latest for e in unranked]
        states = {sid: _state(row, running) for sid, row in d.states(tx, name, ids).items()}
        return BoardView(
            contest,
            _version(tx, contest),
            totals,
            paging,
            tuple(_board_row(e, states) for e in entrants),
            tuple(states[e.latest] for e in unranked),
            _records(tx, contest, name, RECORDS_SHOWN),
            tuple(q.events(tx, contest.id, limit=LATEST_EVENTS, newest_first=True)),
            rules,
        )

    return _read(db, contest, read)


def records(db: Database, contest: Contest, board: str | None = None) -> tuple[RecordPoint, ...]:
    """A board's whole record timeline, oldest first."""

    def read(tx: Transaction) -> tuple[RecordPoint, ...]:
        return _records(tx, contest, board_store.find(tx, contest.id, board).name, None)

    return _read(db, contest, read)


def records_by_board(db: Database, contest: Contest) -> dict[str, tuple[RecordPoint, ...]]:
    """Every board's record timeline (a chart of them all), by board name, in board order."""

    def read(tx: Transaction) -> dict[str, tuple[RecordPoint, ...]]:
        return {b.name: _records(tx, contest, b.name, None) for b in board_store.load(tx, contest.id)}

    return _read(db, contest, read)


def summaries(db: Database, contest: Contest) -> tuple[BoardSummary, ...]:
    """Each board's rules, leader, current record and counts, in board order (a few index
    lookups per board)."""

    def read(tx: Transaction) -> tuple[BoardSummary, ...]:
        running = q.running_submissions(tx, contest.id)
        out = []
        for rules in board_store.load(tx, contest.id):
            name = rules.name
            leader = None
            top = d.board(tx, contest.id, name, first_place=1, limit=1)
            if top and top[0].best is not None:
                best = d.state(tx, top[0].best, name)
                assert best is not None
                leader = _board_row(top[0], {top[0].best: _state(best, running)})
            newest = _records(tx, contest, name, 1)
            record = newest[-1] if newest else None
            out.append(BoardSummary(rules, leader, record, _totals(tx, contest, name)))
        return tuple(out)

    return _read(db, contest, read)


def entrant(
    db: Database,
    contest: Contest,
    name: str,
    page: int = 1,
    *,
    per_page: int = HISTORY_PAGE,
    board: str | None = None,
) -> EntrantView:
    """A page of one entrant's submissions with their states on a board, and their place there."""

    def read(tx: Transaction) -> EntrantView:
        rules = board_store.find(tx, contest.id, board)
        found = d.entrant(tx, contest.id, rules.name, name)
        if found is None:
            raise SubmissionNotFound(f"{name!r} has made no submission", hint="see the board")
        running = q.running_submissions(tx, contest.id)
        paging = _page(page, per_page, found.submissions)
        # A page of one entrant's history: an index range of (entrant, first seen, id), bounded
        # by the entrant's own history (the hourly limit times the contest's length).
        rows = d.states_in_order(
            tx, contest.id, rules.name, entrant=name, offset=paging.first - 1, limit=paging.size
        )
        row = None
        if found.best is not None:
            best = d.state(tx, found.best, rules.name)
            assert best is not None
            row = _board_row(found, {found.best: _state(best, running)})
        return EntrantView(contest, name, row, paging, tuple(_state(r, running) for r in rows), rules)

    return _read(db, contest, read)


def totals(db: Database, contest: Contest, board: str | None = None) -> tuple[Totals, Version]:
    def read(tx: Transaction) -> tuple[Totals, Version]:
        name = board_store.find(tx, contest.id, board).name
        return _totals(tx, contest, name), _version(tx, contest)

    return _read(db, contest, read)


@dataclass(frozen=True)
class SubmissionsPage:
    states: tuple[SubmissionState, ...]  # first seen first
    places: dict[int, int]  # submission id → place, for those that are their entrant's ranked best


def submissions(
    db: Database,
    contest: Contest,
    *,
    after: int | None = None,
    limit: int = HISTORY_PAGE,
    board: str | None = None,
) -> SubmissionsPage:
    """Submissions first seen first, after the one with id ``after`` (a cursor), at most ``limit``,
    with their states and places on a board."""

    def read(tx: Transaction) -> SubmissionsPage:
        name = board_store.find(tx, contest.id, board).name
        cursor = None
        if after is not None:
            found = d.state(tx, after, name)
            if found is None or found.submission.contest_id != contest.id:
                raise SubmissionNotFound(f"no submission #{after}")
            cursor = found.submission.order
        running = q.running_submissions(tx, contest.id)
        rows = d.states_in_order(tx, contest.id, name, after=cursor, limit=limit)
        places = d.places_of(tx, contest.id, name, [r.submission.id for r in rows])
        return SubmissionsPage(tuple(_state(r, running) for r in rows), places)

    return _read(db, contest, read)


def submission_detail(db: Database, contest: Contest, key: str | int) -> SubmissionDetail:
    """A submission by id, or by digest (the earliest submission of that digest), with its
    status and place on every board."""

    def read(tx: Transaction) -> SubmissionDetail:
        every = board_store.load(tx, contest.id)
        row = _find(tx, contest, key, every[0].name)
        running = q.running_submissions(tx, contest.id)
        state = _state(row, running)
        judgement = None
        if state.judged_event is not None:
            event = q.event(tx, state.judged_event)
            judgement = JudgedData.from_json(event.data) if event is not None else None
        sid = row.submission.id
        on_boards = d.states_on_every_board(tx, sid)
        summaries = d.entrant_on_every_board(tx, contest.id, row.submission.entrant)
        placings = []
        for rules in every:
            found = on_boards.get(rules.name)
            if found is None:  # the tables are current (read above): every board has every row
                continue
            summary = summaries.get(rules.name)
            place = summary.place if summary is not None and summary.best == sid else None
            placings.append(Placing(rules, _state(found, running), place))
        events = q.events(tx, contest.id, submission_id=sid)
        twins = tuple(
            s.id for s in q.submissions_with_digest(tx, contest.id, row.submission.digest) if s.id != sid
        )
        place = placings[0].place if placings else None
        return SubmissionDetail(contest, state, judgement, place, tuple(events), twins, tuple(placings))

    return _read(db, contest, read)


def states_of(
    db: Database, contest: Contest, ids: Iterable[int], board: str | None = None
) -> dict[int, SubmissionState]:
    """The states of some submissions (those a list of events names) on a board, by id."""

    def read(tx: Transaction) -> dict[int, SubmissionState]:
        name = board_store.find(tx, contest.id, board).name
        running = q.running_submissions(tx, contest.id)
        rows = d.states(tx, name, set(ids))
        mine = {sid: row for sid, row in rows.items() if row.submission.contest_id == contest.id}
        return {sid: _state(row, running) for sid, row in mine.items()}

    return _read(db, contest, read)


def find(db: Database, contest: Contest, key: str | int) -> SubmissionState:
    """A submission by id or digest, with its state on the first board (a disqualification, the
    window and the queue are the same on every board)."""

    def read(tx: Transaction) -> SubmissionState:
        return from_row(_find(tx, contest, key, board_store.first(tx, contest.id).name))

    return _read(db, contest, read)


def find_all(db: Database, contest: Contest, key: str) -> tuple[SubmissionState, ...]:
    """Every submission a key names: by id, one; by digest, each submission of that digest (their
    states on the first board)."""

    def read(tx: Transaction) -> tuple[SubmissionState, ...]:
        name = board_store.first(tx, contest.id).name
        first = _find(tx, contest, key, name)
        if str(key).isdigit():
            return (from_row(first),)
        twins = d.states_with_digest_prefix(tx, contest.id, name, str(first.submission.digest), 10_000)
        return tuple(from_row(r) for r in twins)

    return _read(db, contest, read)


def select(db: Database, contest: Contest, keys: list[str] | None) -> tuple[SubmissionState, ...]:
    """The submissions named by ``keys`` (ids or digests), or, with None, every judged one."""
    if keys is not None:
        return tuple(find(db, contest, key) for key in keys)
    everything = snapshot(db, contest).standings.states
    return tuple(s for s in everything if s.judged_event is not None)


def _find(tx: Transaction, contest: Contest, key: str | int, board: str) -> StateRow:
    text = str(key).strip()
    if text.isascii() and text.isdigit():  # not str.isdigit alone: "²" is a digit to it, not to int()
        if len(text) > 19 or int(text) > 2**62:  # beyond any id: the databases' integers are 64-bit
            raise SubmissionNotFound(f"no submission #{text[:30]}")
        found = d.state(tx, int(text), board)
        if found is None or found.submission.contest_id != contest.id:
            raise SubmissionNotFound(f"no submission #{text}")
        return found
    prefix = text if text.startswith("sha256:") else f"sha256:{text}"
    if len(prefix) < len("sha256:") + 4 or any(c not in "0123456789abcdef" for c in prefix[7:]):
        raise SubmissionNotFound(
            f"{text!r} is neither a submission id nor a digest",
            hint="give #ID or at least 4 hex digits of sha256:…",
        )
    matches = d.states_with_digest_prefix(tx, contest.id, board, prefix, 100)
    if not matches:
        raise SubmissionNotFound(f"no submission with digest {text}", hint="see `imagegolf contest board`")
    if len({m.submission.digest for m in matches}) > 1:
        raise SubmissionNotFound(f"{text} is ambiguous: more than one digest starts with it")
    return matches[0]


def events(
    db: Database,
    contest: Contest,
    *,
    after: int = 0,
    before: int | None = None,
    limit: int,
    newest_first: bool = False,
) -> list[EventRow]:
    """A page of the event log: after an id (oldest first), or before one (newest first)."""
    return db.run(
        lambda tx: q.events(
            tx, contest.id, after_id=after, before_id=before, limit=limit, newest_first=newest_first
        ),
        write=False,
    )


def snapshot(db: Database, contest: Contest, board: str | None = None) -> Snapshot:
    """Every submission's state on a board with its board and timeline (for exports: reads all
    of them)."""

    def read(tx: Transaction) -> Snapshot:
        rules = board_store.find(tx, contest.id, board)
        name = rules.name
        running = q.running_submissions(tx, contest.id)
        states = tuple(_state(r, running) for r in d.states_in_order(tx, contest.id, name))
        by_id = {s.submission.id: s for s in states}
        everyone = d.all_entrants(tx, contest.id, name)
        ranked = sorted((e for e in everyone if e.place is not None), key=lambda e: e.place or 0)
        standings = Standings(
            rules.metric,
            states,
            tuple(_board_row(e, by_id) for e in ranked),
            tuple(e.entrant for e in everyone if e.place is None),
            _records(tx, contest, name, None),
        )
        return Snapshot(contest, standings, _version(tx, contest), rules)

    return _read(db, contest, read)


def standings(db: Database, contest: Contest, board: str | None = None) -> Standings:
    return snapshot(db, contest, board).standings


# helpers


def _state(row: StateRow, running: frozenset[int]) -> SubmissionState:
    return from_row(row).judging(row.submission.id in running)


def _board_row(entrant: EntrantRow, states: dict[int, SubmissionState]) -> BoardRow:
    assert entrant.best is not None and entrant.place is not None and entrant.size is not None
    return BoardRow(
        entrant.place,
        entrant.entrant,
        entrant.size,
        states[entrant.best],
        entrant.submissions,
        entrant.accepted,
    )


def _records(tx: Transaction, contest: Contest, board: str, limit: int | None) -> tuple[RecordPoint, ...]:
    ids = d.record_ids(tx, contest.id, board, limit=None if limit is None else limit + 1)
    rows = d.states(tx, board, ids)
    points: list[RecordPoint] = []
    previous = None
    for sid in ids:
        state = from_row(rows[sid])
        points.append(record_point(state, previous))
        previous = state.size
    return tuple(points[-limit:] if limit is not None else points)


def _totals(tx: Transaction, contest: Contest, board: str) -> Totals:
    meta = d.meta(tx, contest.id, board)
    assert meta is not None  # _read made sure
    records = d.record_count(tx, contest.id, board)
    return Totals(meta.submissions, meta.entrants, meta.ranked, meta.pending, records)


def _version(tx: Transaction, contest: Contest) -> Version:
    queue = q.queue_counts(tx, contest.id)
    return Version(q.last_event_id(tx, contest.id), queue["queued"], queue["running"])


def _page(number: int, size: int, total: int) -> Page:
    page = Page(number, size, total)
    if number < 1 or number > page.count:
        raise UsageError(f"page {number} does not exist: there are {page.count}")
    return page


# the same reads composed differently (contest/frozen.py: the public standings while frozen)
read_current = _read
state_of = _state
version_in = _version
page_of = _page
