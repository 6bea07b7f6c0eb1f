"""The HTML pages, rendered on the server; the board's fragment is what the live page swaps in."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, Response

from imagegolf.contest import METRICS, Snapshot, SubmissionNotFound, contest_events, submission_detail
from imagegolf.contest import export as ex
from imagegolf.judge.refusals import REFUSED
from imagegolf.web.render import render
from imagegolf.web.site import Site, etag
from imagegolf.web.timeline_svg import timeline_svg

LATEST_EVENTS = 15
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

    def board_context(snap: Snapshot) -> dict[str, Any]:
        latest = contest_events(site.db, snap.contest, limit=LATEST_EVENTS, newest_first=True)
        return {
            "contest": snap.contest,
            "snap": snap,
            "standings": snap.standings,
            "etag": etag(snap.version, snap.queue),
            "latest": latest,
            "meanings": STATUS_MEANINGS,
            "timeline": timeline_svg(snap.standings.records, width=560, height=220, title=""),
        }

    @pages.get("/")
    def board() -> HTMLResponse:
        return page("board.html", nav="board", **board_context(site.snapshot()))

    @pages.get("/fragments/board")
    def board_fragment() -> HTMLResponse:
        context = board_context(site.snapshot())
        response = page("_board.html", **context)
        response.headers["X-Imagegolf-Etag"] = context["etag"]
        response.headers["Cache-Control"] = "no-store"
        return response

    @pages.get("/timeline")
    def timeline(scale: str = Query("auto", pattern="^(auto|log|linear)$")) -> HTMLResponse:
        snap = site.snapshot()
        svg = timeline_svg(snap.standings.records, scale=scale, title=f"Record by {snap.standings.metric}")
        return page(
            "timeline.html",
            nav="timeline",
            contest=snap.contest,
            standings=snap.standings,
            svg=svg,
            scale=scale,
        )

    @pages.get("/timeline.svg")
    def timeline_image(scale: str = Query("auto", pattern="^(auto|log|linear)$")) -> Response:
        snap = site.snapshot()
        svg = timeline_svg(
            snap.standings.records,
            scale=scale,
            title=f"{snap.contest.name}: record by {snap.standings.metric}",
        )
        return Response(svg, media_type="image/svg+xml")

    @pages.get("/entrants/{entrant:path}")
    def entrant(entrant: str) -> HTMLResponse:
        snap = site.snapshot()
        states = snap.standings.of(entrant)
        if not states:
            raise SubmissionNotFound(f"{entrant!r} has made no submission")
        row = next((r for r in snap.standings.board if r.entrant == entrant), None)
        return page(
            "entrant.html",
            nav="",
            contest=snap.contest,
            entrant=entrant,
            states=states,
            row=row,
            places=ex.places(snap.standings),
            meanings=STATUS_MEANINGS,
        )

    @pages.get("/submissions/{key}")
    def submission(key: str) -> HTMLResponse:
        contest = site.contest()
        detail = submission_detail(site.db, contest, key)
        places = ex.places(site.snapshot().standings)
        return page(
            "submission.html",
            nav="",
            contest=contest,
            detail=detail,
            state=detail.state,
            judgement=detail.state.judgement or {},
            place=places.get(detail.state.submission.id),
            metrics=METRICS,
            metric_meanings=METRIC_MEANINGS,
            meanings=STATUS_MEANINGS,
        )

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
