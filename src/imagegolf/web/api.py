"""The read-only JSON API: the contest, the board, the timeline, submissions, events, exports."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from imagegolf.contest import SubmissionNotFound, contest_events, submission_detail
from imagegolf.contest import export as ex
from imagegolf.web.site import Site, etag

EVENTS_PAGE = 500  # /api/events returns at most this many; page on with ?after=<last id>


def attachment(name: str, suffix: str) -> dict[str, str]:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "contest"
    return {"Content-Disposition": f'attachment; filename="{safe}{suffix}"'}


def router(site: Site) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/contest", tags=["read"])
    def contest() -> dict[str, Any]:
        """The contest's rules: phrase, match rule, metric, repository, entrant mapping, window, limits."""
        snap = site.snapshot()
        return {
            **ex.contest_json(snap.contest),
            "version": snap.version,
            "queue": snap.queue,
            "submissions": len(snap.standings.states),
            "entrants": len(snap.standings.board) + len(snap.standings.unranked),
        }

    @api.get("/board", tags=["read"])
    def board() -> dict[str, Any]:
        """The leaderboard: each entrant's best accepted submission, smallest first (ties: first seen)."""
        snap = site.snapshot()
        return {
            "metric": snap.standings.metric,
            "version": snap.version,
            "board": [ex.board_json(row) for row in snap.standings.board],
            "unranked": list(snap.standings.unranked),
            "pending": snap.standings.pending,
            "queue": snap.queue,
        }

    @api.get("/timeline", tags=["read"])
    def timeline() -> dict[str, Any]:
        """The record timeline: each submission that was strictly smaller than every one before it."""
        snap = site.snapshot()
        return {
            "metric": snap.standings.metric,
            "records": [ex.record_json(p) for p in snap.standings.records],
        }

    @api.get("/submissions", tags=["read"])
    def submissions() -> dict[str, Any]:
        """Every submission, first seen first, with its status, verdict, reason and metrics."""
        snap = site.snapshot()
        places = ex.places(snap.standings)
        rows = [
            ex.submission_row(s, snap.standings.metric, places.get(s.submission.id))
            for s in snap.standings.states
        ]
        return {"version": snap.version, "columns": list(ex.COLUMNS), "submissions": rows}

    @api.get("/submissions/{key}", tags=["read"])
    def submission(key: str) -> dict[str, Any]:
        """One submission by id or digest: the judgement (runs, layers, notes, entry file), its events."""
        contest = site.contest()
        detail = submission_detail(site.db, contest, key)
        places = ex.places(site.snapshot().standings)
        return ex.detail_json(detail, places.get(detail.state.submission.id))

    @api.get("/entrants/{entrant:path}", tags=["read"])
    def entrant(entrant: str) -> dict[str, Any]:
        """One entrant's submissions, first seen first, and their place if ranked."""
        snap = site.snapshot()
        states = snap.standings.of(entrant)
        if not states:
            raise SubmissionNotFound(f"{entrant!r} has made no submission")
        places = ex.places(snap.standings)
        row = next((r for r in snap.standings.board if r.entrant == entrant), None)
        return {
            "entrant": entrant,
            "place": row.place if row else None,
            "best": ex.board_json(row) if row else None,
            "submissions": [
                ex.submission_row(s, snap.standings.metric, places.get(s.submission.id)) for s in states
            ],
        }

    @api.get("/events", tags=["read"])
    def events(after: int = Query(0, ge=0, description="only events with a larger id")) -> dict[str, Any]:
        """The event log, oldest first, after an id; at most 500 per call (page on with the last id)."""
        rows = contest_events(site.db, site.contest(), after, limit=EVENTS_PAGE + 1)
        page = rows[:EVENTS_PAGE]
        return {
            "events": [ex.event_json(e) for e in page],
            "more": len(rows) > EVENTS_PAGE,
            "last": page[-1].id if page else after,
        }

    @api.get("/version", tags=["read"])
    def version() -> dict[str, Any]:
        """The last event id and job counts; `etag` changes whenever the board may have changed."""
        last, queue = site.version()
        return {"version": last, "queue": queue, "etag": etag(last, queue)}

    @api.get("/export.json", tags=["export"])
    def export_json() -> JSONResponse:
        """Everything: contest, one row per submission, board, record timeline."""
        snap = site.snapshot()
        return JSONResponse(ex.export_json(snap), headers=attachment(snap.contest.name, ".json"))

    @api.get("/export.csv", tags=["export"])
    def export_csv() -> Response:
        """One row per submission (spreadsheet-safe: formula-like cells are prefixed with ')."""
        snap = site.snapshot()
        return Response(
            ex.export_csv(snap),
            media_type="text/csv; charset=utf-8",
            headers=attachment(snap.contest.name, ".csv"),
        )

    return api
