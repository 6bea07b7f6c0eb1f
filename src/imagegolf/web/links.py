"""Where each board's pages are: one place that writes every board URL the pages link to.

The first board (the contest's main one) keeps the site's first addresses: ``/``, ``/timeline``,
``/entrants/NAME``, ``/fragments/board``, ``/api/export.csv``. Every board, the first included,
also lives under ``/boards/NAME``: ``/boards/NAME``, ``/boards/NAME/timeline`` (and
``timeline.svg``, ``progress.svg``), ``/boards/NAME/entrants/ENTRANT``, its live fragment
``/fragments/boards/NAME`` and its exports ``/api/boards/NAME/export.csv``. A page of the first
board links to the short addresses, a page of another board to its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from imagegolf.judge.boards import Board


@dataclass(frozen=True)
class BoardLinks:
    board: Board
    first: bool  # the contest's main board: the short addresses

    @property
    def name(self) -> str:
        return self.board.name

    @property
    def prefix(self) -> str:
        return "" if self.first else f"/boards/{self.board.name}"

    @property
    def home(self) -> str:
        return self.prefix or "/"

    @property
    def fragment(self) -> str:
        return "/fragments/board" if self.first else f"/fragments/boards/{self.board.name}"

    @property
    def timeline(self) -> str:
        return f"{self.prefix}/timeline"

    @property
    def timeline_svg(self) -> str:
        return f"{self.prefix}/timeline.svg"

    @property
    def progress_svg(self) -> str:
        return f"{self.prefix}/progress.svg"

    def entrant(self, entrant: str) -> str:
        return f"{self.prefix}/entrants/{quote(entrant, safe='')}"

    @property
    def export_csv(self) -> str:
        return "/api/export.csv" if self.first else f"/api/boards/{self.board.name}/export.csv"

    @property
    def export_json(self) -> str:
        return "/api/export.json" if self.first else f"/api/boards/{self.board.name}/export.json"

    @property
    def records_json(self) -> str:
        return f"/api/boards/{self.board.name}/records"

    @property
    def api(self) -> str:
        return "/api/board" if self.first else f"/api/boards/{self.board.name}"

    def tag_parts(self, *rest: object) -> tuple[object, ...]:
        """What picks this board's variant of an entity tag (web/site.py, ``variant``): the
        first board's tags are the site's first ones; another's name the board."""
        return rest if self.first else (self.board.name, *rest)


def links_for(boards: Sequence[Board]) -> tuple[BoardLinks, ...]:
    """Every board's links, in board order (the first is the main board)."""
    return tuple(BoardLinks(board, n == 0) for n, board in enumerate(boards))


__all__ = ["BoardLinks", "links_for"]
