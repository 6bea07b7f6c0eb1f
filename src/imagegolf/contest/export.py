"""The contest as data: one row per submission (CSV, JSON), a board, the record timeline.

Pure: a :class:`Snapshot` in, text or JSON-ready values out. The same shapes serve the web API
(``/api/…``) and the exports, so a column means one thing everywhere. Columns keep their order;
new ones are only ever appended.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from imagegolf.contest.model import METRICS, Contest
from imagegolf.contest.reads import BoardSummary, Placing, Snapshot, SubmissionDetail
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, SubmissionState
from imagegolf.db.clock import format_time
from imagegolf.db.records import EventRow

COLUMNS: tuple[str, ...] = (
    "id", "entrant", "tag", "digest", "first_seen", "via", "status", "verdict", "reason",
    "metric", "size", *METRICS, "place", "judged_at", "duplicate_of",
)  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def contest_json(contest: Contest) -> dict[str, Any]:
    return {
        "name": contest.name,
        "phrase": contest.phrase,
        "match": contest.match.value,
        "match_rule": contest.match.describe(),
        "metric": contest.metric,
        "registry": contest.registry,
        "repository": contest.repository,
        "watched": contest.watched,
        "platforms": [str(p) for p in contest.platforms],
        "entrant_pattern": contest.entrant_pattern,
        "entrant_map": dict(contest.entrant_map),
        "starts_at": _time(contest.starts_at),
        "ends_at": _time(contest.ends_at),
        "limits": dict(contest.limits),
        "created_at": _time(contest.created_at),
        "identity": contest.identity.value,
        "repositories": contest.repositories.value,
        "freeze_at": _time(contest.freeze_at),
        "unfrozen_at": _time(contest.unfrozen_at),
    }


def places(standings: Standings) -> dict[int, int]:
    """submission id → place, for each entrant's ranked best."""
    return {row.best.submission.id: row.place for row in standings.board}


def submission_row(state: SubmissionState, metric: str, place: int | None = None) -> dict[str, Any]:
    """One submission as a flat row, in :data:`COLUMNS` order."""
    s = state.submission
    metrics = state.metrics or {}
    row: dict[str, Any] = {
        "id": s.id,
        "entrant": s.entrant,
        "tag": s.tag,
        "digest": str(s.digest),
        "first_seen": _time(s.first_seen),
        "via": s.via,
        "status": state.status.value,
        "verdict": None if state.verdict is None else state.verdict.value,
        "reason": state.reason,
        "metric": metric,
        "size": state.size,
    }
    for name in METRICS:
        value = metrics.get(name)
        row[name] = None if value is None else int(value)
    row.update(place=place, judged_at=_time(state.judged_at), duplicate_of=state.duplicate_of)
    return row


def board_json(row: BoardRow) -> dict[str, Any]:
    best = row.best.submission
    return {
        "place": row.place,
        "entrant": row.entrant,
        "size": row.size,
        "submission": best.id,
        "tag": best.tag,
        "digest": str(best.digest),
        "reached_at": _time(best.first_seen),
        "submissions": row.submissions,
        "accepted": row.accepted,
    }


def record_json(point: RecordPoint) -> dict[str, Any]:
    return {
        "at": _time(point.at),
        "entrant": point.entrant,
        "size": point.size,
        "submission": point.submission_id,
        "digest": str(point.digest),
        "tag": point.tag,
        "previous": point.previous,
    }


def event_json(event: EventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _time(event.at),
        "kind": event.kind.value,
        "submission": event.submission_id,
        "digest": None if event.digest is None else str(event.digest),
        "actor": event.actor,
        "data": event.data,
    }


def placing_json(placing: Placing) -> dict[str, Any]:
    """A submission on one board: its status there (``shown``: as the pages say it), reason, size
    by the board's metric, and place."""
    state = placing.state
    return {
        "status": state.status.value,
        "shown": state.label,
        "reason": state.reason,
        "metric": placing.board.metric,
        "size": state.size,
        "place": placing.place,
    }


def detail_json(detail: SubmissionDetail) -> dict[str, Any]:
    """A submission's row (on the first board) plus the whole judgement (runs, layers, notes,
    entry), its events and twins, and its status and place on every board."""
    state = detail.state
    metric = detail.boards[0].board.metric if detail.boards else detail.contest.metric
    return {
        **submission_row(state, metric, detail.place),
        "judgement": None if detail.judgement is None else detail.judgement.to_json(),
        "events": [event_json(e) for e in detail.events],
        "same_digest": list(detail.same_digest),
        "boards": {p.board.name: placing_json(p) for p in detail.boards},
    }


def summary_json(summary: BoardSummary) -> dict[str, Any]:
    """A board at a glance: its rules, its leader and its current record."""
    return {
        **summary.board.to_json(),
        "leader": None if summary.leader is None else board_json(summary.leader),
        "record": None if summary.record is None else record_json(summary.record),
        "ranked": summary.totals.ranked,
        "entrants": summary.totals.entrants,
        "records": summary.totals.records,
    }


def export_json(snapshot: Snapshot) -> dict[str, Any]:
    standings = snapshot.standings
    ranked = places(standings)
    return {
        "contest": contest_json(snapshot.contest),
        "board_rules": snapshot.board.to_json(),
        "version": snapshot.version.last_event,
        "queue": snapshot.version.queue,
        "columns": list(COLUMNS),
        "submissions": [
            submission_row(s, standings.metric, ranked.get(s.submission.id)) for s in standings.states
        ],
        "board": [board_json(row) for row in standings.board],
        "unranked": list(standings.unranked),
        "records": [record_json(point) for point in standings.records],
    }


def export_csv(snapshot: Snapshot) -> str:
    standings = snapshot.standings
    ranked = places(standings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for state in standings.states:
        row = submission_row(state, standings.metric, ranked.get(state.submission.id))
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return out.getvalue()


def _time(moment: dt.datetime | None) -> str | None:
    """Times in the JSON and CSV as stored: ISO-8601 UTC with microseconds."""
    return None if moment is None else format_time(moment)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


__all__ = [
    "COLUMNS", "board_json", "contest_json", "detail_json", "event_json", "export_csv",
    "export_json", "places", "placing_json", "record_json", "submission_row", "summary_json",
]  # fmt: skip
