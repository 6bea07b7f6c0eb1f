"""The HTML pages of the contest as a whole, rendered on the server: a submission, the events, the
rules, the admin page, the API index. Each board's pages (the board and its live fragment, the
timeline, the entrants) are web/board_pages.py's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse

from imagegolf.contest import METRICS, Contest, SubmissionState, Version, submission_detail
from imagegolf.contest import events as read_events
from imagegolf.contest.frozen import FrozenView
from imagegolf.contest.reads import states_of
from imagegolf.contest.settings import freeze_state, settings_of
from imagegolf.db.clock import format_time
from imagegolf.db.records import EventRow
from imagegolf.judge.refusals import REFUSED
from imagegolf.web.links import links_for
from imagegolf.web.render import render
from imagegolf.web.site import Site

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
    "REJECTED_IMAGE": "the image failed a safety check and was not run",
    "PULL_FAILED": "the image could not be fetched from the registry (retried before this verdict)",
    "INTERNAL_ERROR": "the judge itself failed: a bug in imagegolf, not the entrant's fault",
    "QUEUED": "waiting to be judged (or for the entrant's hourly limit)",
    "JUDGING": "the judge is running it now",
    "RETRYING": "the pull failed; it will be retried",
    "REJECTED (duplicate)": "the judge accepted it, but its manifest or a layer equals another entrant's "
    "earlier accepted image: the first to push it keeps it",
    "DISQUALIFIED": "an organiser disqualified it (the reason is on record); an organiser may reinstate it",
    "OUTSIDE_WINDOW": "pushed before the contest started or after it ended: not judged",
    "NOT_AN_ENTRANT": "pushed by a registry account that is not one of the contest's entrants: recorded, "
    "not judged",
    "FROZEN": "pushed after the scoreboard froze: its result is hidden on the board until the end "
    "(its own page shows it)",
}
METRIC_MEANINGS = {
    "docker_classic": "what docker images shows on a classic overlay2 store: the unpacked files",
    "containerd_content": "what ctr images ls (and Docker 29's CONTENT SIZE) shows: manifest, config, "
    "stored layers",
    "podman": "what podman images shows",
    "registry_compressed": "what Docker Hub or Quay shows: the sum of the compressed layer sizes",
    "pull_bytes": "every byte a pull transfers: index, manifest, config and layers",
}


def server_times(site: Site, phase: str) -> dict[str, Any]:
    """What the countdown and the freeze notes need (the server's time: the page counts from it)."""
    at = site.clock()
    return {"phase": phase, "now": at, "now_iso": format_time(at)}


def event_states(
    site: Site, contest: Contest, events: Iterable[EventRow], frozen: FrozenView | None
) -> dict[int, SubmissionState]:
    """The states of the submissions a list of events names, as the page shows them."""
    ids = {e.submission_id for e in events if e.submission_id is not None}
    return frozen.states_of(ids) if frozen is not None else states_of(site.db, contest, ids)


def router(site: Site, env: jinja2.Environment, app: FastAPI) -> APIRouter:
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def page(template: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(env, template, **context))

    def public() -> tuple[Contest, Version, str, FrozenView | None]:
        """The contest, its version, the board's phase, and the frozen standings when frozen."""
        contest, current = site.current()
        phase = site.phase(contest)
        return contest, current, phase, site.frozen(contest, current) if phase == "frozen" else None

    @pages.get("/submissions/{key}")
    def submission(key: str) -> HTMLResponse:
        """A submission's own page: its real status and verdict, frozen board or not, and its status
        and place on every board."""
        contest, current = site.current()
        detail = submission_detail(site.db, contest, key)
        every = {links.name: links for links in links_for(site.boards(contest, current))}
        ranked_by: dict[str, list[str]] = {}
        for placing in detail.boards:
            ranked_by.setdefault(placing.board.metric, []).append(placing.board.label)
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
            states={detail.state.submission.id: detail.state},
            board_links=every,
            ranked_by=ranked_by,
        )

    @pages.get("/events")
    def events(
        before: int | None = Query(None, ge=1, le=2**62, description="only older events"),
    ) -> HTMLResponse:
        contest, _current, phase, frozen = public()
        rows = read_events(site.db, contest, before=before, limit=EVENTS_PAGE + 1, newest_first=True)
        shown = rows[:EVENTS_PAGE]
        older = shown[-1].id if len(rows) > EVENTS_PAGE else None
        if frozen is not None:
            shown = frozen.mask(shown)
        return page(
            "events.html",
            nav="events",
            contest=contest,
            events=shown,
            older=older,
            states=event_states(site, contest, shown, frozen),
            **server_times(site, phase),
        )

    @pages.get("/rules")
    def rules() -> HTMLResponse:
        contest, current = site.current()
        return page(
            "rules.html",
            nav="rules",
            contest=contest,
            meanings=STATUS_MEANINGS,
            metrics=METRIC_MEANINGS,
            refused=REFUSED,
            tabs=links_for(site.boards(contest, current)),
            **server_times(site, site.phase(contest)),
        )

    @pages.get("/admin")
    def admin() -> HTMLResponse:
        contest, _current = site.current()
        return page(
            "admin.html",
            nav="admin",
            contest=contest,
            enabled=bool(site.admin_token),
            settings=settings_of(contest),
            metric_names=METRICS,
            freeze_text=freeze_state(contest, site.clock()),
            **server_times(site, site.phase(contest)),
        )

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
