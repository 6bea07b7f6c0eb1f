"""A contest's boards as stored (the ``boards`` table) and as values (judge/boards.py).

The boards are in order; the first is the contest's main board: what ``contest board``,
``/api/board`` and the board page show unless another is named, and whose metric is
``contests.metric`` (``Contest.metric``).
"""

from __future__ import annotations

from collections.abc import Sequence

from imagegolf.contest.errors import BoardNotFound
from imagegolf.db import Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import BoardRecord
from imagegolf.judge.boards import Board
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.platform import Platform


def from_record(record: BoardRecord) -> Board:
    return Board(
        record.name,
        record.metric,
        MessageRule(record.message),
        ExitRule(record.exit),
        Platform.parse_list(record.platforms) if record.platforms else (),
        record.title,
    )


def to_record(board: Board, position: int) -> BoardRecord:
    platforms = ",".join(str(p) for p in board.platforms)
    return BoardRecord(
        board.name, board.title, board.metric, board.message.value, board.exit.value, platforms, position
    )


def load(tx: Transaction, contest_id: int) -> tuple[Board, ...]:
    """The contest's boards, the first (main) one first."""
    return tuple(from_record(r) for r in q.boards(tx, contest_id))


def first(tx: Transaction, contest_id: int) -> Board:
    """The contest's main board (every contest has at least one)."""
    boards = load(tx, contest_id)
    if not boards:  # migration 4 gives every contest one; `contest board remove` keeps the last
        raise BoardNotFound(f"contest #{contest_id} has no board")
    return boards[0]


def named(boards: Sequence[Board], name: str | None) -> Board:
    """The board called ``name`` (None: the first), or BoardNotFound naming the known ones."""
    if not boards:
        raise BoardNotFound("the contest has no board")
    if name is None:
        return boards[0]
    found = next((b for b in boards if b.name == name), None)
    if found is None:
        known = ", ".join(b.name for b in boards)
        raise BoardNotFound(
            f"no board named {name[:40]!r} (boards: {known})",
            hint="`imagegolf contest board list` and /api/boards list them",
        )
    return found


def find(tx: Transaction, contest_id: int, name: str | None) -> Board:
    return named(load(tx, contest_id), name)


__all__ = ["find", "first", "from_record", "load", "named", "to_record"]
