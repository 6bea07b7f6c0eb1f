"""SQL of the derived standings tables (migrations 2 and 4): each statement reads or writes a
bounded number of rows through an index, so its cost does not grow with the contest's history.

Every row is one board's (a contest ranks the same judgements on each of its boards by that
board's rules): ``board`` follows ``contest_id`` in every key and index. What the rows mean, and
when they change, is contest/derived.py's business; this module only stores and fetches them.
Orders are spelled as row values, ``(first_seen, submission_id)``: both SQLite (3.15+) and
PostgreSQL compare them left to right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from imagegolf.db.clock import Moment, stored_time
from imagegolf.db.connection import Transaction
from imagegolf.db.records import EntrantRow, MetaRow, StateRow

_STATE_MARKS = ", ".join("?" for _ in StateRow.COLUMNS.split(","))
_ENTRANT = (
    "entrant, joined, first_submission, latest, latest_seen, "
    "submissions, accepted, best, size, reached, place"
)
_META = "applied_event, submissions, pending, ranked, entrants"
_TABLES = ("records", "entrant_best", "fingerprints", "submission_states", "standings_meta")

# meta


def metas(tx: Transaction, contest_id: int, *, lock: bool = False) -> dict[str, MetaRow]:
    """The contest's bookkeeping rows, by board; ``lock``: hold them to the end of the
    transaction, which serialises every change to this contest's derived tables (PostgreSQL, in
    board order so that two writers never deadlock; SQLite has one writer)."""
    suffix = " ORDER BY board FOR UPDATE" if lock and tx.dialect == "postgresql" else ""
    rows = tx.query(f"SELECT board, {_META} FROM standings_meta WHERE contest_id = ?{suffix}", (contest_id,))
    return {str(r["board"]): MetaRow(**{k: int(r[k]) for k in _META.split(", ")}) for r in rows}


def meta(tx: Transaction, contest_id: int, board: str) -> MetaRow | None:
    row = tx.one(
        f"SELECT {_META} FROM standings_meta WHERE contest_id = ? AND board = ?", (contest_id, board)
    )
    return None if row is None else MetaRow(**{k: int(v) for k, v in row.items()})


def put_meta(tx: Transaction, contest_id: int, board: str, meta: MetaRow) -> None:
    tx.execute(
        f"INSERT INTO standings_meta (contest_id, board, {_META}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (contest_id, board) DO UPDATE SET "
        "applied_event = excluded.applied_event, submissions = excluded.submissions, "
        "pending = excluded.pending, ranked = excluded.ranked, entrants = excluded.entrants",
        (contest_id, board, meta.applied_event, meta.submissions, meta.pending, meta.ranked, meta.entrants),
    )


def current(tx: Transaction, contest_id: int, last_event: int) -> bool:
    """Whether every board of the contest has its rows, reflecting ``last_event``."""
    row = tx.one(
        "SELECT COUNT(*) AS boards, "
        "SUM(CASE WHEN m.applied_event = ? THEN 1 ELSE 0 END) AS current "
        "FROM boards b LEFT JOIN standings_meta m ON m.contest_id = b.contest_id AND m.board = b.name "
        "WHERE b.contest_id = ?",
        (last_event, contest_id),
    )
    if row is None:
        return False
    boards, reflecting = int(row["boards"] or 0), int(row["current"] or 0)
    return boards > 0 and boards == reflecting


def last_event_before(tx: Transaction, contest_id: int, event_id: int) -> int:
    row = tx.one("SELECT MAX(id) AS id FROM events WHERE contest_id = ? AND id < ?", (contest_id, event_id))
    return int(row["id"]) if row and row["id"] is not None else 0


def clear(tx: Transaction, contest_id: int, board: str | None = None) -> None:
    """Drop a contest's derived rows (before they are rebuilt from the events): one board's, or
    every board's (``None``)."""
    for table in _TABLES:
        if board is None:
            tx.execute(f"DELETE FROM {table} WHERE contest_id = ?", (contest_id,))
        else:
            tx.execute(f"DELETE FROM {table} WHERE contest_id = ? AND board = ?", (contest_id, board))


# submission states


def state(tx: Transaction, submission_id: int, board: str) -> StateRow | None:
    row = tx.one(
        f"SELECT {StateRow.COLUMNS} FROM submission_states WHERE submission_id = ? AND board = ?",
        (submission_id, board),
    )
    return None if row is None else StateRow.from_row(row)


def states_on_every_board(tx: Transaction, submission_id: int) -> dict[str, StateRow]:
    """One submission's state on each board, by board."""
    rows = tx.query(
        f"SELECT {StateRow.COLUMNS} FROM submission_states WHERE submission_id = ?", (submission_id,)
    )
    return {str(r["board"]): StateRow.from_row(r) for r in rows}


def states(tx: Transaction, board: str, submission_ids: Iterable[int]) -> dict[int, StateRow]:
    ids = sorted(set(submission_ids))
    found: dict[int, StateRow] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = tx.query(
            f"SELECT {StateRow.COLUMNS} FROM submission_states "
            f"WHERE submission_id IN ({', '.join('?' for _ in chunk)}) AND board = ?",
            [*chunk, board],
        )
        found.update((int(r["submission_id"]), StateRow.from_row(r)) for r in rows)
    return found


def put_state(tx: Transaction, row: StateRow) -> None:
    put_states(tx, [row])


def put_states(tx: Transaction, rows: Sequence[StateRow]) -> None:
    """Write states (each row names its board)."""
    if not rows:
        return
    columns = [c.strip() for c in StateRow.COLUMNS.split(",")]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("submission_id", "board"))
    tx.execute_many(
        f"INSERT INTO submission_states ({StateRow.COLUMNS}) VALUES ({_STATE_MARKS}) "
        f"ON CONFLICT (submission_id, board) DO UPDATE SET {updates}",
        [row.values() for row in rows],
    )


def states_in_order(
    tx: Transaction,
    contest_id: int,
    board: str,
    *,
    entrant: str | None = None,
    after: tuple[Moment, int] | None = None,
    before: tuple[Moment, int] | None = None,
    ranked_only: bool = False,
    offset: int = 0,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[StateRow]:
    """Submission states on one board first seen first (or newest first), optionally one
    entrant's, between two orders (exclusive), only the ranked ones; at most ``limit``."""
    sql = f"SELECT {StateRow.COLUMNS} FROM submission_states WHERE contest_id = ? AND board = ?"
    params: list[Any] = [contest_id, board]
    if entrant is not None:
        sql += " AND entrant = ?"
        params.append(entrant)
    if ranked_only:
        sql += " AND ranked = 1"
    if after is not None:
        sql += " AND (first_seen, submission_id) > (?, ?)"
        params += [stored_time(after[0]), after[1]]
    if before is not None:
        sql += " AND (first_seen, submission_id) < (?, ?)"
        params += [stored_time(before[0]), before[1]]
    direction = "DESC" if newest_first else "ASC"
    sql += f" ORDER BY first_seen {direction}, submission_id {direction}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [StateRow.from_row(r) for r in tx.query(sql, params)]


def states_with_digest_prefix(
    tx: Transaction, contest_id: int, board: str, prefix: str, limit: int
) -> list[StateRow]:
    """States whose digest starts with ``prefix`` (an index range, not a scan)."""
    rows = tx.query(
        f"SELECT {StateRow.COLUMNS} FROM submission_states "
        "WHERE contest_id = ? AND board = ? AND digest >= ? AND digest < ? "
        "ORDER BY first_seen, submission_id LIMIT ?",
        (contest_id, board, prefix, prefix + "\x7f", limit),
    )
    return [StateRow.from_row(r) for r in rows]


def best_of(tx: Transaction, contest_id: int, board: str, entrant: str) -> StateRow | None:
    """The entrant's best: smallest ranked size, then first seen, then lowest id."""
    row = tx.one(
        f"SELECT {StateRow.COLUMNS} FROM submission_states "
        "WHERE contest_id = ? AND board = ? AND entrant = ? AND ranked = 1 "
        "ORDER BY size, first_seen, submission_id LIMIT 1",
        (contest_id, board, entrant),
    )
    return None if row is None else StateRow.from_row(row)


# fingerprints (the duplicate rule, among the submissions accepted on the board)


def prints_of(tx: Transaction, board: str, submission_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = sorted(set(submission_ids))
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = tx.query(
            "SELECT submission_id, fingerprint FROM fingerprints "
            f"WHERE submission_id IN ({', '.join('?' for _ in chunk)}) AND board = ? "
            "ORDER BY submission_id, position",
            [*chunk, board],
        )
        for r in rows:
            found.setdefault(int(r["submission_id"]), []).append(str(r["fingerprint"]))
    return found


def holders(tx: Transaction, contest_id: int, board: str, prints: Iterable[str]) -> set[int]:
    """The submissions that hold any of these fingerprints on the board."""
    wanted = sorted(set(prints))
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = tx.query(
            "SELECT submission_id FROM fingerprints WHERE contest_id = ? AND board = ? "
            f"AND fingerprint IN ({', '.join('?' for _ in chunk)})",
            [contest_id, board, *chunk],
        )
        found.update(int(r["submission_id"]) for r in rows)
    return found


def set_prints(
    tx: Transaction, contest_id: int, board: str, submission_id: int, prints: Sequence[str]
) -> None:
    tx.execute("DELETE FROM fingerprints WHERE submission_id = ? AND board = ?", (submission_id, board))
    tx.execute_many(
        "INSERT INTO fingerprints (contest_id, board, fingerprint, submission_id, position) "
        "VALUES (?, ?, ?, ?, ?)",
        [(contest_id, board, p, submission_id, n) for n, p in enumerate(prints)],
    )


# entrants and the board


def entrant(tx: Transaction, contest_id: int, board: str, name: str) -> EntrantRow | None:
    row = tx.one(
        f"SELECT {_ENTRANT} FROM entrant_best WHERE contest_id = ? AND board = ? AND entrant = ?",
        (contest_id, board, name),
    )
    return None if row is None else EntrantRow.from_row(row)


def entrant_on_every_board(tx: Transaction, contest_id: int, name: str) -> dict[str, EntrantRow]:
    """One entrant's row on each board, by board."""
    rows = tx.query(
        f"SELECT board, {_ENTRANT} FROM entrant_best WHERE contest_id = ? AND entrant = ?",
        (contest_id, name),
    )
    return {str(r["board"]): EntrantRow.from_row(r) for r in rows}


def put_entrant(tx: Transaction, contest_id: int, board: str, row: EntrantRow) -> None:
    put_entrants(tx, contest_id, board, [row])


def put_entrants(tx: Transaction, contest_id: int, board: str, rows: Sequence[EntrantRow]) -> None:
    columns = [c.strip() for c in _ENTRANT.split(",")]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    tx.execute_many(
        f"INSERT INTO entrant_best (contest_id, board, {_ENTRANT}) "
        f"VALUES (?, ?, {', '.join('?' for _ in columns)}) "
        f"ON CONFLICT (contest_id, board, entrant) DO UPDATE SET {updates}",
        [
            (
                contest_id, board, r.entrant, stored_time(r.joined), r.first_submission, r.latest,
                stored_time(r.latest_seen), r.submissions, r.accepted, r.best, r.size,
                None if r.reached is None else stored_time(r.reached), r.place,
            )
            for r in rows
        ],
    )  # fmt: skip


def entrants_better_than(
    tx: Transaction, contest_id: int, board: str, size: int, reached: Moment, best: int, other_than: str
) -> int:
    """How many ranked entrants (but ``other_than``) have a best before (size, reached, best)."""
    row = tx.one(
        "SELECT COUNT(*) AS n FROM entrant_best WHERE contest_id = ? AND board = ? AND size IS NOT NULL "
        "AND (size, reached, best) < (?, ?, ?) AND entrant <> ?",
        (contest_id, board, size, stored_time(reached), best, other_than),
    )
    return int(row["n"]) if row else 0


def shift_places(tx: Transaction, contest_id: int, board: str, *, from_place: int, by: int) -> None:
    """Move every place at or after ``from_place`` by ``by`` (one entrant left or joined the board)."""
    tx.execute(
        "UPDATE entrant_best SET place = place + ? WHERE contest_id = ? AND board = ? AND place >= ?",
        (by, contest_id, board, from_place),
    )


def board(tx: Transaction, contest_id: int, board: str, *, first_place: int, limit: int) -> list[EntrantRow]:
    rows = tx.query(
        f"SELECT {_ENTRANT} FROM entrant_best WHERE contest_id = ? AND board = ? AND place >= ? "
        "ORDER BY place LIMIT ?",
        (contest_id, board, first_place, limit),
    )
    return [EntrantRow.from_row(r) for r in rows]


def places_of(tx: Transaction, contest_id: int, board: str, submission_ids: Sequence[int]) -> dict[int, int]:
    """submission id → place, for those of ``submission_ids`` that are their entrant's best."""
    found: dict[int, int] = {}
    for start in range(0, len(submission_ids), 500):
        chunk = list(submission_ids[start : start + 500])
        rows = tx.query(
            "SELECT best, place FROM entrant_best WHERE contest_id = ? AND board = ? "
            f"AND place IS NOT NULL AND best IN ({', '.join('?' for _ in chunk)})",
            [contest_id, board, *chunk],
        )
        found.update((int(r["best"]), int(r["place"])) for r in rows)
    return found


def unranked(tx: Transaction, contest_id: int, board: str, *, limit: int | None = None) -> list[EntrantRow]:
    sql = (
        f"SELECT {_ENTRANT} FROM entrant_best WHERE contest_id = ? AND board = ? AND place IS NULL "
        "ORDER BY joined, first_submission"
    )
    params: list[Any] = [contest_id, board]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [EntrantRow.from_row(r) for r in tx.query(sql, params)]


def all_entrants(tx: Transaction, contest_id: int, board: str) -> list[EntrantRow]:
    rows = tx.query(
        f"SELECT {_ENTRANT} FROM entrant_best WHERE contest_id = ? AND board = ? "
        "ORDER BY joined, first_submission",
        (contest_id, board),
    )
    return [EntrantRow.from_row(r) for r in rows]


# the record timeline


def record_ids(tx: Transaction, contest_id: int, board: str, *, limit: int | None = None) -> list[int]:
    """The record-setting submissions, oldest first (the newest ``limit`` of them, if given)."""
    if limit is None:
        rows = tx.query(
            "SELECT submission_id FROM records WHERE contest_id = ? AND board = ? "
            "ORDER BY first_seen, submission_id",
            (contest_id, board),
        )
        return [int(r["submission_id"]) for r in rows]
    rows = tx.query(
        "SELECT submission_id FROM records WHERE contest_id = ? AND board = ? "
        "ORDER BY first_seen DESC, submission_id DESC LIMIT ?",
        (contest_id, board, limit),
    )
    return [int(r["submission_id"]) for r in reversed(rows)]


def record_count(tx: Transaction, contest_id: int, board: str) -> int:
    row = tx.one(
        "SELECT COUNT(*) AS n FROM records WHERE contest_id = ? AND board = ?", (contest_id, board)
    )
    return int(row["n"]) if row else 0


def record_before(
    tx: Transaction, contest_id: int, board: str, at: tuple[Moment, int]
) -> tuple[int, int] | None:
    """The last record (submission id, size) first seen before ``at``."""
    row = tx.one(
        "SELECT submission_id, size FROM records "
        "WHERE contest_id = ? AND board = ? AND (first_seen, submission_id) < (?, ?) "
        "ORDER BY first_seen DESC, submission_id DESC LIMIT 1",
        (contest_id, board, stored_time(at[0]), at[1]),
    )
    return None if row is None else (int(row["submission_id"]), int(row["size"]))


def record_after(
    tx: Transaction, contest_id: int, board: str, at: tuple[Moment, int]
) -> tuple[Moment, int] | None:
    """The order (first seen, id) of the first record after ``at``."""
    row = tx.one(
        "SELECT first_seen, submission_id FROM records "
        "WHERE contest_id = ? AND board = ? AND (first_seen, submission_id) > (?, ?) "
        "ORDER BY first_seen, submission_id LIMIT 1",
        (contest_id, board, stored_time(at[0]), at[1]),
    )
    return None if row is None else (str(row["first_seen"]), int(row["submission_id"]))


def is_record(tx: Transaction, contest_id: int, board: str, submission_id: int) -> bool:
    row = tx.one(
        "SELECT 1 AS x FROM records WHERE contest_id = ? AND board = ? AND submission_id = ?",
        (contest_id, board, submission_id),
    )
    return row is not None


def add_records(
    tx: Transaction, contest_id: int, board: str, records: Sequence[tuple[int, Moment, int]]
) -> None:
    """Add (submission id, first seen, size) records."""
    tx.execute_many(
        "INSERT INTO records (contest_id, board, submission_id, first_seen, size) VALUES (?, ?, ?, ?, ?)",
        [(contest_id, board, sid, stored_time(at), size) for sid, at, size in records],
    )


def drop_record(tx: Transaction, contest_id: int, board: str, submission_id: int) -> None:
    tx.execute(
        "DELETE FROM records WHERE contest_id = ? AND board = ? AND submission_id = ?",
        (contest_id, board, submission_id),
    )


def drop_records_after(
    tx: Transaction, contest_id: int, board: str, at: tuple[Moment, int], size: int
) -> None:
    """Records after ``at`` that are not smaller than ``size`` are records no more."""
    tx.execute(
        "DELETE FROM records WHERE contest_id = ? AND board = ? AND (first_seen, submission_id) > (?, ?) "
        "AND size >= ?",
        (contest_id, board, stored_time(at[0]), at[1], size),
    )
