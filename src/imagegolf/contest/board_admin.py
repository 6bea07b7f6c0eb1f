"""Adding and removing a contest's boards (``contest board add|remove``): each is an audited event
(``board_added``, ``board_removed``, with the board's rules), and the board's derived rows are
built from the events, or dropped, in the same transaction."""

from __future__ import annotations

from imagegolf.contest import board_store, derived
from imagegolf.contest.model import Contest, choose
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError
from imagegolf.judge.boards import Board
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.platform import Platform


def make_board(
    name: str,
    metric: str,
    *,
    message: str = MessageRule.ANYWHERE.value,
    exit: str = ExitRule.ZERO.value,
    platforms: str | None = None,
    title: str = "",
) -> Board:
    """A board from the words of ``contest board add`` (checked: a UsageError says what is wrong)."""
    where = choose(MessageRule, message, "message rule")
    status = choose(ExitRule, exit, "exit rule")
    taken = Platform.parse_list(platforms) if platforms else ()
    if len(title) > 80:
        raise UsageError("a board's title: at most 80 characters")
    return Board(name, metric, where, status, taken, title.strip())


def add_board(db: Database, contest: Contest, board: Board, *, actor: str) -> Board:
    """Add a board after the others; its rows are built from the events in the same transaction."""

    def write(tx: Transaction) -> Board:
        d.metas(tx, contest.id, lock=True)  # one change of this contest's standings at a time
        existing = board_store.load(tx, contest.id)
        if any(b.name == board.name for b in existing):
            raise UsageError(
                f"contest {contest.name!r} already has a board named {board.name!r}",
                hint="choose another name, or remove that one first",
            )
        # The event first, so the other boards reflect it; then the new board, built through it.
        derived.record(tx, contest, EventKind.BOARD_ADDED, actor, {"board": board.to_json()})
        position = max((r.position for r in q.boards(tx, contest.id)), default=-1) + 1
        q.insert_board(tx, contest.id, board_store.to_record(board, position))
        derived.build_board(tx, contest, board)
        return board

    return db.run(write)


def remove_board(db: Database, contest: Contest, name: str, *, actor: str) -> tuple[Board, Contest]:
    """Remove a board and its rows (never the last one). Removing the first makes the next one
    the contest's main board, whose metric becomes the contest's. Returns the board removed and
    the contest as it is now."""

    def write(tx: Transaction) -> tuple[Board, Contest]:
        d.metas(tx, contest.id, lock=True)
        boards = board_store.load(tx, contest.id)
        gone = board_store.named(boards, name)
        if len(boards) == 1:
            raise UsageError(
                f"{name!r} is the contest's only board: a contest ranks on at least one",
                hint="add another board first (`imagegolf contest board add`)",
            )
        q.delete_board(tx, contest.id, name)
        d.clear(tx, contest.id, name)
        rest = [b for b in boards if b.name != name]
        if gone == boards[0] and rest[0].metric != gone.metric:
            q.update_contest(tx, contest.id, metric=rest[0].metric)
        row = q.contest_by_id(tx, contest.id)
        assert row is not None
        updated = Contest.from_row(row)
        derived.record(tx, updated, EventKind.BOARD_REMOVED, actor, {"board": gone.to_json()})
        return gone, updated

    return db.run(write)


__all__ = ["add_board", "make_board", "remove_board"]
