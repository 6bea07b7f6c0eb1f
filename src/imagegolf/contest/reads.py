"""Read side: open a contest; read the board, a page of submissions, an entrant, one submission.

Every read is answered from the derived tables (contest/derived.py) and reads only the rows it
shows: a board page, a page of history, one submission and its events. Their cost does not grow
with the contest's history. Each read first checks that the tables reflect the last event (two
index lookups); a contest whose tables are behind (written by an older release) is rebuilt once.
The full :class:`Standings` (every submission) is for exports and organiser commands only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from imagegolf.contest.derived import from_row, is_current, rebuild_if_stale
from imagegolf.contest.errors import ContestNotFound, SubmissionNotFound
from imagegolf.contest.judged import JudgedData
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, SubmissionState, record_point
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.records import EntrantRow, EventRow, StateRow
from imagegolf.errors import UsageError

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
            raise ContestNotFound(
                f"{db.url} holds no contest", hint="create one with `imagegolf contest init --repository …`"
            )
        if len(rows) > 1:
            raise ContestNotFound(
                f"{db.url} holds {len(rows)} contests: {', '.join(r.name for r in rows)}",
                hint="choose one with --contest NAME",
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
    totals: Totals
    page: Page
    rows: tuple[BoardRow, ...]  # this page's entrants, by place
    unranked: tuple[SubmissionState, ...]  # the latest submission of entrants not on the board
    records: tuple[RecordPoint, ...]  # the newest records, oldest first
    latest: tuple[EventRow, ...]  # the newest events, newest first


@dataclass(frozen=True)
class EntrantView:
    contest: Contest
    entrant: str
    row: BoardRow | None  # their place and best, if ranked
    page: Page
    states: tuple[SubmissionState, ...]  # this page of their history, first seen first


@dataclass(frozen=True)
class SubmissionDetail:
    contest: Contest
    state: SubmissionState
    judgement: JudgedData | None  # the whole judgement in effect (runs, layers, notes, entry)
    place: int | None  # its place, if it is its entrant's ranked best
    events: tuple[EventRow, ...]  # this submission's events, oldest first
    same_digest: tuple[int, ...]  # other submissions of the same digest (judged once)


@dataclass(frozen=True)
class Snapshot:
    """Every submission's state, the board and the timeline (exports, organiser commands)."""

    contest: Contest
    standings: Standings
    version: Version


# reads


def version(db: Database, contest: Contest) -> Version:
    """Two index lookups: the last event id, and how many jobs are queued and running."""

    return db.run(lambda tx: _version(tx, contest), write=False)


def board(db: Database, contest: Contest, page: int = 1, *, per_page: int = BOARD_PAGE) -> BoardView:
    def read(tx: Transaction) -> BoardView:
        running = q.running_submissions(tx, contest.id)
        totals = _totals(tx, contest)
        paging = _page(page, per_page, totals.ranked)
        entrants = d.board(tx, contest.id, first_place=paging.first, limit=per_page)
        unranked = d.unranked(tx, contest.id, limit=UNRANKED_SHOWN)
        ids = [e.best for e in entrants if e.best is not None] + [e.latest for e in unranked]
        states = {sid: _state(row, running) for sid, row in d.states(tx, ids).items()}
        return BoardView(
            contest,
            _version(tx, contest),
            totals,
            paging,
            tuple(_board_row(e, states) for e in entrants),
            tuple(states[e.latest] for e in unranked),
            _records(tx, contest, RECORDS_SHOWN),
            tuple(q.events(tx, contest.id, limit=LATEST_EVENTS, newest_first=True)),
        )

    return _read(db, contest, read)


def records(db: Database, contest: Contest) -> tuple[RecordPoint, ...]:
    return _read(db, contest, lambda tx: _records(tx, contest, None))


def entrant(
    db: Database, contest: Contest, name: str, page: int = 1, *, per_page: int = HISTORY_PAGE
) -> EntrantView:
    def read(tx: Transaction) -> EntrantView:
        found = d.entrant(tx, contest.id, name)
        if found is None:
            raise SubmissionNotFound(f"{name!r} has made no submission", hint="see the board")
        running = q.running_submissions(tx, contest.id)
        paging = _page(page, per_page, found.submissions)
        # A page of one entrant's history: an index range of (entrant, first seen, id), bounded
        # by the entrant's own history (the hourly limit times the contest's length).
        rows = d.states_in_order(tx, contest.id, entrant=name, offset=paging.first - 1, limit=paging.size)
        row = None
        if found.best is not None:
            best = d.state(tx, found.best)
            assert best is not None
            row = _board_row(found, {found.best: _state(best, running)})
        return EntrantView(contest, name, row, paging, tuple(_state(r, running) for r in rows))

    return _read(db, contest, read)


def totals(db: Database, contest: Contest) -> tuple[Totals, Version]:
    return _read(db, contest, lambda tx: (_totals(tx, contest), _version(tx, contest)))


@dataclass(frozen=True)
class SubmissionsPage:
    states: tuple[SubmissionState, ...]  # first seen first
    places: dict[int, int]  # submission id → place, for those that are their entrant's ranked best


def submissions(
    db: Database, contest: Contest, *, after: int | None = None, limit: int = HISTORY_PAGE
) -> SubmissionsPage:
    """Submissions first seen first, after the one with id ``after`` (a cursor), at most ``limit``."""

    def read(tx: Transaction) -> SubmissionsPage:
        cursor = None
        if after is not None:
            found = d.state(tx, after)
            if found is None or found.submission.contest_id != contest.id:
                raise SubmissionNotFound(f"no submission #{after}")
            cursor = found.submission.order
        running = q.running_submissions(tx, contest.id)
        rows = d.states_in_order(tx, contest.id, after=cursor, limit=limit)
        places = d.places_of(tx, contest.id, [r.submission.id for r in rows])
        return SubmissionsPage(tuple(_state(r, running) for r in rows), places)

    return _read(db, contest, read)


def submission_detail(db: Database, contest: Contest, key: str | int) -> SubmissionDetail:
    """A submission by id, or by digest (the earliest submission of that digest)."""

    def read(tx: Transaction) -> SubmissionDetail:
        row = _find(tx, contest, key)
        state = _state(row, q.running_submissions(tx, contest.id))
        judgement = None
        if state.judged_event is not None:
            event = q.event(tx, state.judged_event)
            judgement = JudgedData.from_json(event.data) if event is not None else None
        summary = d.entrant(tx, contest.id, row.submission.entrant)
        place = summary.place if summary is not None and summary.best == row.submission.id else None
        events = q.events(tx, contest.id, submission_id=row.submission.id)
        twins = tuple(
            s.id
            for s in q.submissions_with_digest(tx, contest.id, row.submission.digest)
            if s.id != row.submission.id
        )
        return SubmissionDetail(contest, state, judgement, place, tuple(events), twins)

    return _read(db, contest, read)


def states_of(db: Database, contest: Contest, ids: Iterable[int]) -> dict[int, SubmissionState]:
    """The states of some submissions (those a list of events names), by id."""

    def read(tx: Transaction) -> dict[int, SubmissionState]:
        running = q.running_submissions(tx, contest.id)
        rows = d.states(tx, set(ids))
        mine = {sid: row for sid, row in rows.items() if row.submission.contest_id == contest.id}
        return {sid: _state(row, running) for sid, row in mine.items()}

    return _read(db, contest, read)


def find(db: Database, contest: Contest, key: str | int) -> SubmissionState:
    return _read(db, contest, lambda tx: from_row(_find(tx, contest, key)))


def find_all(db: Database, contest: Contest, key: str) -> tuple[SubmissionState, ...]:
    """Every submission a key names: by id, one; by digest, each submission of that digest."""

    def read(tx: Transaction) -> tuple[SubmissionState, ...]:
        first = _find(tx, contest, key)
        if str(key).isdigit():
            return (from_row(first),)
        twins = d.states_with_digest_prefix(tx, contest.id, str(first.submission.digest), 10_000)
        return tuple(from_row(r) for r in twins)

    return _read(db, contest, read)


def select(db: Database, contest: Contest, keys: list[str] | None) -> tuple[SubmissionState, ...]:
    """The submissions named by ``keys`` (ids or digests), or, with None, every judged one."""
    if keys is not None:
        return tuple(find(db, contest, key) for key in keys)
    everything = snapshot(db, contest).standings.states
    return tuple(s for s in everything if s.judged_event is not None)


def _find(tx: Transaction, contest: Contest, key: str | int) -> StateRow:
    text = str(key).strip()
    if text.isascii() and text.isdigit():  # not str.isdigit alone: "²" is a digit to it, not to int()
        if len(text) > 19 or int(text) > 2**62:  # beyond any id: the databases' integers are 64-bit
            raise SubmissionNotFound(f"no submission #{text[:30]}")
        found = d.state(tx, int(text))
        if found is None or found.submission.contest_id != contest.id:
            raise SubmissionNotFound(f"no submission #{text}")
        return found
    prefix = text if text.startswith("sha256:") else f"sha256:{text}"
    if len(prefix) < len("sha256:") + 4 or any(c not in "0123456789abcdef" for c in prefix[7:]):
        raise SubmissionNotFound(
            f"{text!r} is neither a submission id nor a digest",
            hint="give #ID or at least 4 hex digits of sha256:…",
        )
    matches = d.states_with_digest_prefix(tx, contest.id, prefix, 100)
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


def snapshot(db: Database, contest: Contest) -> Snapshot:
    """Every submission's state with the board and timeline (for exports: reads all of them)."""

    def read(tx: Transaction) -> Snapshot:
        running = q.running_submissions(tx, contest.id)
        states = tuple(_state(r, running) for r in d.states_in_order(tx, contest.id))
        by_id = {s.submission.id: s for s in states}
        everyone = d.all_entrants(tx, contest.id)
        ranked = sorted((e for e in everyone if e.place is not None), key=lambda e: e.place or 0)
        standings = Standings(
            contest.metric,
            states,
            tuple(_board_row(e, by_id) for e in ranked),
            tuple(e.entrant for e in everyone if e.place is None),
            _records(tx, contest, None),
        )
        return Snapshot(contest, standings, _version(tx, contest))

    return _read(db, contest, read)


def standings(db: Database, contest: Contest) -> Standings:
    return snapshot(db, contest).standings


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


def _records(tx: Transaction, contest: Contest, limit: int | None) -> tuple[RecordPoint, ...]:
    ids = d.record_ids(tx, contest.id, limit=None if limit is None else limit + 1)
    rows = d.states(tx, ids)
    points: list[RecordPoint] = []
    previous = None
    for sid in ids:
        state = from_row(rows[sid])
        points.append(record_point(state, previous))
        previous = state.size
    return tuple(points[-limit:] if limit is not None else points)


def _totals(tx: Transaction, contest: Contest) -> Totals:
    meta = d.meta(tx, contest.id)
    assert meta is not None  # _read made sure
    return Totals(meta.submissions, meta.entrants, meta.ranked, meta.pending, d.record_count(tx, contest.id))


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
