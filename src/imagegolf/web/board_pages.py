"""The pages of each board: the board with its tabs and its live fragment, the record timeline and
the top entrants' progress, and each entrant's page with their chart.

Every board has them all under ``/boards/NAME`` (web/links.py); the first board also at the
site's first addresses (``/``, ``/timeline``, ``/entrants/NAME``). An unknown board is a 404
naming the boards. The board and its fragment, the timeline page and the charts are rendered once
per version, phase, board and page and shared by every viewer (web/site.py); while the board is
frozen each one shows that board's frozen standings (contest/frozen.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from imagegolf.contest import BoardView, Contest, RecordPoint, Version
from imagegolf.contest import board as read_board
from imagegolf.contest import entrant as read_entrant
from imagegolf.contest import records as read_records
from imagegolf.contest.board_store import named
from imagegolf.contest.frozen import FrozenView
from imagegolf.db.clock import format_time
from imagegolf.web.entrant_svg import entrant_svg
from imagegolf.web.links import BoardLinks, links_for
from imagegolf.web.pages import STATUS_MEANINGS, PageNumber, event_states, server_times
from imagegolf.web.progress_svg import TOP, Point, Series, accepted_points, progress_svg, series_of
from imagegolf.web.render import render
from imagegolf.web.site import Site, variant
from imagegolf.web.timeline_svg import timeline_svg


@dataclass(frozen=True)
class Where:
    """What a cached board answer is made from: the contest, the boards, this board, the phase
    and, while frozen, this board's frozen standings."""

    contest: Contest
    every: tuple[BoardLinks, ...]
    here: BoardLinks
    phase: str
    frozen: FrozenView | None


Scale = Query("auto", pattern="^(auto|log|linear)$", description="the size axis: auto, log or linear")


def router(site: Site, env: jinja2.Environment) -> APIRouter:
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def located(name: str | None) -> tuple[Contest, Version, tuple[BoardLinks, ...], BoardLinks]:
        """The contest, its version, every board's links and the named board's (None: the first);
        BoardNotFound (a 404 naming the boards) for a board the contest does not have."""
        contest, current = site.current()
        every = links_for(site.boards(contest, current))
        board = named([links.board for links in every], name)  # BoardNotFound names the boards
        return contest, current, every, next(links for links in every if links.board == board)

    def frozen_of(contest: Contest, current: Version, phase: str, here: BoardLinks) -> FrozenView | None:
        # board_of: the first board's frozen view is the one /api/board and the events share
        return site.frozen(contest, current, board_of(here)) if phase == "frozen" else None

    def board_of(here: BoardLinks) -> str | None:
        return None if here.first else here.name

    def board_context(
        view: BoardView,
        phase: str,
        frozen: FrozenView | None,
        every: tuple[BoardLinks, ...],
        here: BoardLinks,
    ) -> dict[str, Any]:
        records = view.records
        return {
            "contest": view.contest,
            "view": view,
            "meanings": STATUS_MEANINGS,
            "timeline": timeline_svg(records, width=560, height=220, title=""),
            "record": records[-1] if records else None,
            "states": event_states(site, view.contest, view.latest, frozen),
            "tabs": every,
            "links": here,
            **server_times(site, phase),
        }

    def board_answer(
        request: Request, name: str | None, template: str, number: int, **extra: Any
    ) -> Response:
        """A board's page (or its live fragment): 304 if the viewer has this version, else
        rendered once per version, phase, board and page and shared by every viewer. The tag
        names the phase too (frozen, ended): the board changes when the freeze begins or ends,
        with no event; and the board (but the first's, whose tags are the site's first ones)."""
        contest, current, every, here = located(name)  # the counters and the boards: no standings read
        phase = site.phase(contest)
        tag = variant(site.public_tag(contest, current), *here.tag_parts(number))

        def fresh() -> bytes:  # once per version, phase, board and page, whoever asks first
            frozen = frozen_of(contest, current, phase, here)
            if frozen is not None:
                view = frozen.board(number)
            else:
                view = read_board(site.db, contest, number, board=board_of(here))
            context = board_context(view, phase, frozen, every, here)
            return render(env, template, **context, etag=tag, **extra).encode()

        # What is rendered is at least as new as the tag (read after it), never older. The
        # server's time rides on every answer, 304s too: the countdown corrects its clock by it.
        headers = {"X-Imagegolf-Etag": tag, "X-Imagegolf-Now": format_time(site.clock())}
        return site.answer_once(request, tag, fresh, "text/html", headers)

    @pages.get("/")
    def board(request: Request, page_number: int = PageNumber) -> Response:
        return board_answer(request, None, "board.html", page_number, nav="board")

    @pages.get("/boards/{name}")
    def named_board(request: Request, name: str, page_number: int = PageNumber) -> Response:
        return board_answer(request, name, "board.html", page_number, nav="board")

    @pages.get("/fragments/board")
    def board_fragment(request: Request, page_number: int = PageNumber) -> Response:
        return board_answer(request, None, "_board.html", page_number)

    @pages.get("/fragments/boards/{name}")
    def named_fragment(request: Request, name: str, page_number: int = PageNumber) -> Response:
        return board_answer(request, name, "_board.html", page_number)

    # the record timeline and the top entrants' progress

    def records_of(contest: Contest, here: BoardLinks, frozen: FrozenView | None) -> tuple[RecordPoint, ...]:
        return frozen.records() if frozen is not None else read_records(site.db, contest, board_of(here))

    def progress_of(contest: Contest, here: BoardLinks, frozen: FrozenView | None) -> list[Series]:
        """The board's first TOP entrants' lines: each from their first page of history (their
        first 100 submissions) and their best, or, frozen, from the frozen standings."""
        if frozen is not None:
            rows = frozen.standings.board[:TOP]
            return [series_of(row, frozen.standings.of(row.entrant)) for row in rows]
        board = board_of(here)
        rows = read_board(site.db, contest, 1, per_page=TOP, board=board).rows
        return [
            series_of(row, read_entrant(site.db, contest, row.entrant, board=board).states) for row in rows
        ]

    def progress_chart(series: list[Series], here: BoardLinks) -> str:
        return progress_svg(
            series, board=here.board.label, metric=here.board.metric, ident=f"progress-{here.name}"
        )

    def cached(
        request: Request, name: str | None, what: str, make: Callable[[Where], str], media: str
    ) -> Response:
        """An answer that depends on the board's standings only: once per version, phase and
        board (and ``what``: the view and its options), 304 to a viewer who holds it."""
        contest, current, every, here = located(name)
        phase = site.phase(contest)
        tag = variant(site.public_tag(contest, current), *here.tag_parts(what))

        def fresh() -> bytes:
            return make(Where(contest, every, here, phase, frozen_of(contest, current, phase, here))).encode()

        return site.answer_once(request, tag, fresh, media)

    def timeline_page(request: Request, name: str | None, scale: str) -> Response:
        def make(at: Where) -> str:
            board = at.here.board
            points = records_of(at.contest, at.here, at.frozen)
            series = progress_of(at.contest, at.here, at.frozen)
            return render(
                env,
                "timeline.html",
                nav="timeline",
                contest=at.contest,
                records=points,
                svg=timeline_svg(points, scale=scale, title=f"Record on {board.label} by {board.metric}"),
                progress=progress_chart(series, at.here),
                series=series,
                scale=scale,
                tabs=at.every,
                links=at.here,
                **server_times(site, at.phase),
            )

        return cached(request, name, f"timeline-{scale}", make, "text/html")

    def timeline_image(request: Request, name: str | None, scale: str) -> Response:
        def make(at: Where) -> str:
            title = f"{at.contest.name}: record on {at.here.board.label} by {at.here.board.metric}"
            return timeline_svg(records_of(at.contest, at.here, at.frozen), scale=scale, title=title)

        return cached(request, name, f"timeline.svg-{scale}", make, "image/svg+xml")

    def progress_image(request: Request, name: str | None) -> Response:
        def make(at: Where) -> str:
            return progress_chart(progress_of(at.contest, at.here, at.frozen), at.here)

        return cached(request, name, "progress.svg", make, "image/svg+xml")

    @pages.get("/timeline")
    def timeline(request: Request, scale: str = Scale) -> Response:
        return timeline_page(request, None, scale)

    @pages.get("/boards/{name}/timeline")
    def named_timeline(request: Request, name: str, scale: str = Scale) -> Response:
        return timeline_page(request, name, scale)

    @pages.get("/timeline.svg")
    def timeline_svg_first(request: Request, scale: str = Scale) -> Response:
        return timeline_image(request, None, scale)

    @pages.get("/boards/{name}/timeline.svg")
    def named_timeline_svg(request: Request, name: str, scale: str = Scale) -> Response:
        return timeline_image(request, name, scale)

    @pages.get("/progress.svg")
    def progress_first(request: Request) -> Response:
        return progress_image(request, None)

    @pages.get("/boards/{name}/progress.svg")
    def named_progress(request: Request, name: str) -> Response:
        return progress_image(request, name)

    # an entrant's page

    def entrant_page(name: str | None, entrant: str, number: int) -> HTMLResponse:
        contest, current, every, here = located(name)
        phase = site.phase(contest)
        frozen = frozen_of(contest, current, phase, here)
        if frozen is not None:
            view = frozen.entrant(entrant, number)
        else:
            view = read_entrant(site.db, contest, entrant, number, board=board_of(here))
        row = view.row
        places = {row.best.submission.id: row.place} if row else {}
        best = Point(row.best.submission.first_seen, row.size, row.best.submission.id) if row else None
        chart = entrant_svg(
            accepted_points(view.states),
            best,
            entrant=entrant,
            board=here.board.label,
            metric=here.board.metric,
            ident=f"entrant-{here.name}",
        )
        html = render(
            env,
            "entrant.html",
            nav="",
            contest=view.contest,
            entrant=view.entrant,
            view=view,
            places=places,
            meanings=STATUS_MEANINGS,
            chart=chart,
            tabs=every,
            links=here,
            **server_times(site, phase),
        )
        return HTMLResponse(html)

    @pages.get("/entrants/{entrant:path}")
    def entrant(entrant: str, page_number: int = PageNumber) -> HTMLResponse:
        return entrant_page(None, entrant, page_number)

    @pages.get("/boards/{name}/entrants/{entrant:path}")
    def named_entrant(name: str, entrant: str, page_number: int = PageNumber) -> HTMLResponse:
        return entrant_page(name, entrant, page_number)

    return pages


__all__ = ["router"]
