"""The HTML pages, rendered on the server; the board's fragment is what the live page swaps in."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from imagegolf.contest import METRICS, BoardView, submission_detail
from imagegolf.contest import board as read_board
from imagegolf.contest import entrant as read_entrant
from imagegolf.contest import events as read_events
from imagegolf.contest import records as read_records
from imagegolf.judge.refusals import REFUSED
from imagegolf.web.render import render
from imagegolf.web.site import Site, variant
from imagegolf.web.timeline_svg import timeline_svg

EVENTS_PAGE = 100
MAX_PAGE = 1_000_000  # beyond any contest; a larger number is a 400, not a query
PageNumber = Query(1, ge=1, le=MAX_PAGE, alias="page", description="which page, from 1")
# What each status means, for the rules page and the tooltips on the board.
STATUS_MEANINGS = {
    "ACCEPTED": "every run exited 0 and printed the phrase; ranked by the contest's metric",
    "WRONG_OUTPUT": "it ran and exited 0, but stdout is not the phrase (or holds refused characters)",
    "NO_OUTPUT": "it ran and exited 0 with nothing on stdout",
    "RUNTIME_ERROR": "it ran and exited with a non-zero status",
    "TIMEOUT": "it was still running at the wall-time limit and was killed",
    "OUTPUT_LIMIT": "it wrote more than 1 MiB to stdout or 64 KiB to stderr",
    "MEMORY_LIMIT": "it was killed by the out-of-memory killer",
    "START_FAILED": "the program never ran (not found, not executable, no interpreter, wrong architecture)",
    "REJECTED_IMAGE": "the image failed a safety check and was not run, or it duplicates another entrant's "
    "earlier accepted image",
    "PULL_FAILED": "the image could not be fetched from the registry (retried before this verdict)",
    "INTERNAL_ERROR": "the judge itself failed: a bug in imagegolf, not the entrant's fault",
    "QUEUED": "waiting for a worker (or for the entrant's hourly limit)",
    "JUDGING": "a worker is judging it now",
    "RETRYING": "the pull failed; it will be retried",
    "DISQUALIFIED": "an organiser disqualified it (the reason is on record)",
    "OUTSIDE_WINDOW": "pushed before the contest started or after it ended: not judged",
}
METRIC_MEANINGS = {
    "docker_classic": "what docker images shows on a classic overlay2 store: the unpacked files",
    "containerd_content": "what ctr images ls (and Docker 29's CONTENT SIZE) shows: manifest, config, "
    "stored layers",
    "podman": "what podman images shows",
    "registry_compressed": "what Docker Hub or Quay shows: the sum of the compressed layer sizes",
    "pull_bytes": "every byte a pull transfers: index, manifest, config and layers",
}


def router(site: Site, env: jinja2.Environment, app: FastAPI) -> APIRouter:
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def page(template: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(env, template, **context))

    def board_context(view: BoardView) -> dict[str, Any]:
        return {
            "contest": view.contest,
            "view": view,
            "meanings": STATUS_MEANINGS,
            "timeline": timeline_svg(view.records, width=560, height=220, title=""),
        }

    def board_answer(request: Request, template: str, number: int, **extra: Any) -> Response:
        """The board (or its live fragment): 304 if the viewer has this version, else rendered
        once per version and page and shared by every viewer."""
        tag = variant(site.version().etag, number)  # the counters only: no standings read

        def fresh() -> bytes:  # once per version and page, whoever asks first
            view = read_board(site.db, site.contest(), number)
            return render(env, template, **board_context(view), **extra).encode()

        # What is rendered is at least as new as the tag (read after it), never older.
        return site.answer_once(request, tag, fresh, "text/html", {"X-Imagegolf-Etag": tag})

    @pages.get("/")
    def board(request: Request, page_number: int = PageNumber) -> Response:
        return board_answer(request, "board.html", page_number, nav="board")

    @pages.get("/fragments/board")
    def board_fragment(request: Request, page_number: int = PageNumber) -> Response:
        return board_answer(request, "_board.html", page_number)

    @pages.get("/timeline")
    def timeline(scale: str = Query("auto", pattern="^(auto|log|linear)$")) -> HTMLResponse:
        contest = site.contest()
        points = read_records(site.db, contest)
        svg = timeline_svg(points, scale=scale, title=f"Record by {contest.metric}")
        return page("timeline.html", nav="timeline", contest=contest, records=points, svg=svg, scale=scale)

    @pages.get("/timeline.svg")
    def timeline_image(scale: str = Query("auto", pattern="^(auto|log|linear)$")) -> Response:
        contest = site.contest()
        svg = timeline_svg(
            read_records(site.db, contest), scale=scale, title=f"{contest.name}: record by {contest.metric}"
        )
        return Response(svg, media_type="image/svg+xml")

    @pages.get("/entrants/{entrant:path}")
    def entrant(entrant: str, page_number: int = PageNumber) -> HTMLResponse:
        view = read_entrant(site.db, site.contest(), entrant, page_number)
        places = {view.row.best.submission.id: view.row.place} if view.row else {}
        return page(
            "entrant.html",
            nav="",
            contest=view.contest,
            entrant=view.entrant,
            view=view,
            places=places,
            meanings=STATUS_MEANINGS,
        )

    @pages.get("/submissions/{key}")
    def submission(key: str) -> HTMLResponse:
        detail = submission_detail(site.db, site.contest(), key)
        return page(
            "submission.html",
            nav="",
            contest=detail.contest,
            detail=detail,
            state=detail.state,
            judgement=detail.judgement,
            metrics=METRICS,
            metric_meanings=METRIC_MEANINGS,
            meanings=STATUS_MEANINGS,
        )

    @pages.get("/events")
    def events(
        before: int | None = Query(None, ge=1, le=2**62, description="only older events"),
    ) -> HTMLResponse:
        contest = site.contest()
        rows = read_events(site.db, contest, before=before, limit=EVENTS_PAGE + 1, newest_first=True)
        shown = rows[:EVENTS_PAGE]
        older = shown[-1].id if len(rows) > EVENTS_PAGE else None
        return page("events.html", nav="events", contest=contest, events=shown, older=older)

    @pages.get("/rules")
    def rules() -> HTMLResponse:
        contest = site.contest()
        return page(
            "rules.html",
            nav="rules",
            contest=contest,
            meanings=STATUS_MEANINGS,
            metrics=METRIC_MEANINGS,
            refused=REFUSED,
        )

    @pages.get("/admin")
    def admin() -> HTMLResponse:
        return page("admin.html", nav="admin", contest=site.contest(), enabled=bool(site.admin_token))

    @pages.get("/api")
    def api_index() -> HTMLResponse:
        routes = [
            {
                "methods": [method.upper()],
                "path": path,
                "doc": (op.get("description") or op.get("summary") or ""),
            }
            for path, operations in app.openapi()["paths"].items()
            for method, op in operations.items()
        ]
        return page("api.html", nav="api", contest=None, routes=routes)

    return pages
