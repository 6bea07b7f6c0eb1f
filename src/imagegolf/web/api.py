"""The read-only JSON API: the contest, its boards, the timeline, submissions, events, exports.

Lists are paged (a board by place, submissions and events by a cursor), so an answer's cost
does not grow with the contest's history; a board answers 304 to a client holding its version.
A contest has one or more boards (docs/contest.md, "Boards"): ``/api/board`` is the first,
``/api/boards/{name}`` any of them; the reads that depend on a board take ``?board=NAME``
(default: the first). An unknown board is a 404 naming the known ones.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from imagegolf.contest import BoardSummary, Contest, Snapshot, Version, snapshot, submission_detail, summaries
from imagegolf.contest import board as read_board
from imagegolf.contest import entrant as read_entrant
from imagegolf.contest import events as read_events
from imagegolf.contest import export as ex
from imagegolf.contest import records as read_records
from imagegolf.contest import submissions as read_submissions
from imagegolf.contest.frozen import FrozenView
from imagegolf.contest.reads import BOARD_PAGE, HISTORY_PAGE
from imagegolf.contest.reads import board_named as read_board_named
from imagegolf.contest.reads import totals as read_totals
from imagegolf.web.pages import PageNumber
from imagegolf.web.site import Site, variant

EVENTS_PAGE = 500  # /api/events returns at most this many; page on with ?after=<last id>
BoardName = Query(None, max_length=64, description="which board (default: the contest's first)")
MAX_ID = 2**62  # ids beyond any database: a larger one is a 400, not a query
LIST_LIMIT = 1000


def attachment(name: str, suffix: str) -> dict[str, str]:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "contest"
    return {"Content-Disposition": f'attachment; filename="{safe}{suffix}"'}


def router(site: Site) -> APIRouter:
    api = APIRouter(prefix="/api")

    def frozen_for(
        request: Request, board: str | None = None
    ) -> tuple[Contest, Version, FrozenView | None]:
        """The contest, its version, and the board's frozen standings when the public board is
        frozen and the caller does not hold the admin token (the organiser sees the real ones)."""
        contest, current = site.current()
        if site.phase(contest) != "frozen" or site.holds_admin_token(request):
            return contest, current, None
        return contest, current, site.frozen(contest, current, board)

    @api.get("/contest", tags=["read"])
    def contest() -> dict[str, Any]:
        """The contest's rules: phrase, match rule, metric, repository, entrant mapping, window,
        limits, identity, the freeze; whether the public board is frozen now."""
        contest = site.contest()
        counts, current = read_totals(site.db, contest)
        return {
            **ex.contest_json(contest),
            "version": current.last_event,
            "queue": current.queue,
            "submissions": counts.submissions,
            "entrants": counts.entrants,
            "frozen": site.phase(contest) == "frozen",
        }

    def board_answer(request: Request, name: str | None, page_number: int, per_page: int) -> Response:
        """A page of a board (None: the first), once per version, board and page; 304 to a
        client that holds it."""
        contest, current = site.current()  # the counters only
        phase = site.phase(contest)
        organiser = phase == "frozen" and site.holds_admin_token(request)  # sees the real board
        frozen_now = phase == "frozen" and not organiser
        base = current.etag if organiser else site.public_tag(contest, current)
        # /api/board keeps its tags; a named board's name the board, so no two boards share one.
        parts = (page_number, per_page) if name is None else (name, page_number, per_page)
        tag = variant(base, *parts)

        def fresh() -> bytes:  # once per version, freeze, board and page, whoever asks first
            if frozen_now:
                view = site.frozen(contest, current, name).board(page_number, per_page=per_page)
            else:
                view = read_board(site.db, contest, page_number, per_page=per_page, board=name)
            answer = {
                "metric": view.board.metric,
                "board_rules": view.board.to_json(),
                "version": view.version.last_event,
                "page": view.page.number,
                "pages": view.page.count,
                "ranked": view.totals.ranked,
                "board": [ex.board_json(row) for row in view.rows],
                "unranked": [s.submission.entrant for s in view.unranked],
                "unranked_total": view.totals.entrants - view.totals.ranked,
                "pending": view.totals.pending,
                "queue": view.version.queue,
                "frozen": frozen_now,
                # Why each of them is not on the board: their latest submission.
                "unranked_latest": [
                    {
                        "entrant": s.submission.entrant,
                        "submission": s.submission.id,
                        "status": s.status.value,
                        "shown": s.label,
                        "reason": s.reason,
                    }
                    for s in view.unranked
                ],
            }
            return bytes(JSONResponse(answer).body)

        return site.answer_once(request, tag, fresh, "application/json")  # an unknown board: 404

    @api.get("/board", tags=["read"])
    def board(
        request: Request,
        page_number: int = PageNumber,
        per_page: int = Query(BOARD_PAGE, ge=1, le=LIST_LIMIT, description="entrants per page"),
    ) -> Response:
        """The leaderboard of the contest's first board, a page at a time: each entrant's best
        accepted submission, smallest first (ties: first seen). While the board is frozen, the
        freeze's standings (`frozen`: true), unless the request carries the admin token. Answers
        304 to `If-None-Match` with the current ETag."""
        return board_answer(request, None, page_number, per_page)

    @api.get("/boards", tags=["read"])
    def boards(request: Request) -> Response:
        """The contest's boards, in order (the first is the main one): each one's rules (metric,
        where the message may come from, exit status, platforms), its leader and its current
        record (while frozen, as the public board shows them). Answers 304 to `If-None-Match`."""
        contest, current = site.current()
        phase = site.phase(contest)
        organiser = phase == "frozen" and site.holds_admin_token(request)
        frozen_now = phase == "frozen" and not organiser
        tag = variant(current.etag if organiser else site.public_tag(contest, current), "boards")

        def fresh() -> bytes:
            found = summaries(site.db, contest)
            if frozen_now:
                found = tuple(frozen_summary(site.frozen(contest, current, s.board.name)) for s in found)
            answer = {
                "version": current.last_event,
                "frozen": frozen_now,
                "boards": [ex.summary_json(s) for s in found],
            }
            return bytes(JSONResponse(answer).body)

        return site.answer_once(request, tag, fresh, "application/json")

    @api.get("/boards/{name}", tags=["read"])
    def named_board(
        request: Request,
        name: str,
        page_number: int = PageNumber,
        per_page: int = Query(BOARD_PAGE, ge=1, le=LIST_LIMIT, description="entrants per page"),
    ) -> Response:
        """One board, paged as `/api/board` (with its rules in `board_rules`); 404 for a board the
        contest does not have."""
        return board_answer(request, name, page_number, per_page)

    @api.get("/boards/{name}/records", tags=["read"])
    def board_records(request: Request, name: str) -> dict[str, Any]:
        """One board's record timeline (while frozen, of the submissions pushed before the freeze)."""
        return timeline_of(request, name)

    def timeline_of(request: Request, name: str | None) -> dict[str, Any]:
        contest, _current, frozen = frozen_for(request, name)
        if frozen is not None:
            rules, points = frozen.rules, frozen.records()
        else:
            rules = read_board_named(site.db, contest, name)
            points = read_records(site.db, contest, rules.name)
        return {
            "board": rules.name,
            "metric": rules.metric,
            "records": [ex.record_json(p) for p in points],
        }

    @api.get("/timeline", tags=["read"])
    def timeline(request: Request, board: str | None = BoardName) -> dict[str, Any]:
        """The record timeline of a board (`board`; default the first): each submission that was
        strictly smaller than every one before it (while frozen, of the submissions pushed before
        the freeze)."""
        return timeline_of(request, board)

    @api.get("/submissions", tags=["read"])
    def submissions(
        request: Request,
        after: int | None = Query(None, ge=1, le=MAX_ID, description="the last id of the page before"),
        limit: int = Query(HISTORY_PAGE, ge=1, le=LIST_LIMIT, description="at most this many"),
        board: str | None = BoardName,
    ) -> dict[str, Any]:
        """Submissions, first seen first, with status, verdict, reason and metrics on a board
        (`board`; default the first); page on with `after` = the last id of a page. While frozen,
        those pushed since the freeze are FROZEN."""
        contest, _current, frozen = frozen_for(request, board)
        rules = frozen.rules if frozen is not None else read_board_named(site.db, contest, board)
        if frozen is not None:
            found = frozen.submissions(after=after, limit=limit + 1)
        else:
            found = read_submissions(site.db, contest, after=after, limit=limit + 1, board=rules.name)
        page = found.states[:limit]
        return {
            "board": rules.name,
            "columns": list(ex.COLUMNS),
            "submissions": [
                ex.submission_row(s, rules.metric, found.places.get(s.submission.id)) for s in page
            ],
            "more": len(found.states) > limit,
            "last": page[-1].submission.id if page else after,
        }

    @api.get("/submissions/{key}", tags=["read"])
    def submission(key: str) -> dict[str, Any]:
        """One submission by id or digest: the judgement (runs, layers, notes, entry file), its
        events, and in `boards` its status, reason, size and place on every board. Its real
        status, frozen board or not."""
        return ex.detail_json(submission_detail(site.db, site.contest(), key))

    @api.get("/entrants/{entrant:path}", tags=["read"])
    def entrant(
        request: Request, entrant: str, page_number: int = PageNumber, board: str | None = BoardName
    ) -> dict[str, Any]:
        """One entrant's submissions, first seen first, a page at a time, and their place if ranked
        on a board (`board`; default the first)."""
        contest, _current, frozen = frozen_for(request, board)
        if frozen is not None:
            view = frozen.entrant(entrant, page_number)
        else:
            view = read_entrant(site.db, contest, entrant, page_number, board=board)
        row = view.row
        places = {row.best.submission.id: row.place} if row else {}
        return {
            "entrant": entrant,
            "board": view.board.name,
            "place": row.place if row else None,
            "best": ex.board_json(row) if row else None,
            "page": view.page.number,
            "pages": view.page.count,
            "total": view.page.total,
            "submissions": [
                ex.submission_row(s, view.board.metric, places.get(s.submission.id)) for s in view.states
            ],
        }

    @api.get("/events", tags=["read"])
    def events(
        request: Request,
        after: int = Query(0, ge=0, le=MAX_ID, description="only events with a larger id"),
        limit: int = Query(EVENTS_PAGE, ge=1, le=EVENTS_PAGE, description="at most this many"),
    ) -> dict[str, Any]:
        """The event log, oldest first, after an id; at most 500 per call (page on with the last id).
        While frozen, the results of submissions pushed since the freeze are hidden."""
        contest, _current, frozen = frozen_for(request)
        rows = read_events(site.db, contest, after=after, limit=limit + 1)
        page = rows[:limit]
        shown = frozen.mask(page) if frozen is not None else page
        return {
            "events": [ex.event_json(e) for e in shown],
            "more": len(rows) > limit,
            "last": page[-1].id if page else after,
        }

    @api.get("/version", tags=["read"])
    def version() -> dict[str, Any]:
        """The last event id and job counts; `etag` changes whenever the board may have changed
        (an event, a job taken or finished, the freeze beginning or ending)."""
        contest, current = site.current()
        return {
            "version": current.last_event,
            "queue": current.queue,
            "etag": site.public_tag(contest, current),
        }

    def snapshot_for(request: Request, board: str | None) -> Snapshot:
        contest, _current, frozen = frozen_for(request, board)
        return frozen.snapshot() if frozen is not None else snapshot(site.db, contest, board)

    def json_export(request: Request, board: str | None) -> JSONResponse:
        snap = snapshot_for(request, board)
        suffix = ".json" if board is None else f"-{snap.board.name}.json"
        return JSONResponse(ex.export_json(snap), headers=attachment(snap.contest.name, suffix))

    def csv_export(request: Request, board: str | None) -> Response:
        snap = snapshot_for(request, board)
        suffix = ".csv" if board is None else f"-{snap.board.name}.csv"
        return Response(
            ex.export_csv(snap),
            media_type="text/csv; charset=utf-8",
            headers=attachment(snap.contest.name, suffix),
        )

    @api.get("/export.json", tags=["export"])
    def export_json(request: Request, board: str | None = BoardName) -> JSONResponse:
        """Everything on a board (`board`; default the first): contest, the board's rules, one row
        per submission, board, record timeline (while frozen, as the public board shows it,
        unless the request carries the admin token)."""
        return json_export(request, board)

    @api.get("/export.csv", tags=["export"])
    def export_csv(request: Request, board: str | None = BoardName) -> Response:
        """One row per submission with its status, size and place on a board (`board`; default
        the first); spreadsheet-safe: formula-like cells are prefixed with '."""
        return csv_export(request, board)

    @api.get("/boards/{name}/export.json", tags=["export"])
    def board_export_json(request: Request, name: str) -> JSONResponse:
        """`/api/export.json` of one board."""
        return json_export(request, name)

    @api.get("/boards/{name}/export.csv", tags=["export"])
    def board_export_csv(request: Request, name: str) -> Response:
        """`/api/export.csv` of one board."""
        return csv_export(request, name)

    return api


def frozen_summary(frozen: FrozenView) -> BoardSummary:
    """A board at a glance as the frozen public board shows it."""
    standings = frozen.standings
    leader = standings.board[0] if standings.board else None
    record = standings.records[-1] if standings.records else None
    return BoardSummary(frozen.rules, leader, record, frozen.totals())
