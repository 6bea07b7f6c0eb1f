"""The contest as data: one row per submission (CSV, JSON), the board, the record timeline.

Pure: a :class:`Snapshot` in, text or JSON-ready values out. The same shapes serve the web API
(``/api/…``) and the exports, so a column means one thing everywhere. Columns keep their order;
new ones are only ever appended.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from imagegolf.contest.model import METRICS, Contest
from imagegolf.contest.reads import Snapshot, SubmissionDetail
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, SubmissionState
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
        "starts_at": contest.starts_at,
        "ends_at": contest.ends_at,
        "limits": dict(contest.limits),
        "created_at": contest.created_at,
    }


def places(standings: Standings) -> dict[int, int]:
    """submission id → place, for each entrant's ranked best."""
    return {row.best.submission.id: row.place for row in standings.board}


def submission_row(state: SubmissionState, metric: str, place: int | None = None) -> dict[str, Any]:
    """One submission as a flat row, in :data:`COLUMNS` order."""
    s = state.submission
    metrics = (state.judgement or {}).get("metrics") or {}
    row: dict[str, Any] = {
        "id": s.id,
        "entrant": s.entrant,
        "tag": s.tag,
        "digest": s.digest,
        "first_seen": s.first_seen,
        "via": s.via,
        "status": state.status,
        "verdict": state.verdict,
        "reason": state.reason,
        "metric": metric,
        "size": state.size,
    }
    for name in METRICS:
        value = metrics.get(name)
        row[name] = None if value is None else int(value)
    row.update(place=place, judged_at=state.judged_at, duplicate_of=state.duplicate_of)
    return row


def board_json(row: BoardRow) -> dict[str, Any]:
    best = row.best.submission
    return {
        "place": row.place,
        "entrant": row.entrant,
        "size": row.size,
        "submission": best.id,
        "tag": best.tag,
        "digest": best.digest,
        "reached_at": best.first_seen,
        "submissions": row.submissions,
        "accepted": row.accepted,
    }


def record_json(point: RecordPoint) -> dict[str, Any]:
    return {
        "at": point.at,
        "entrant": point.entrant,
        "size": point.size,
        "submission": point.submission_id,
        "digest": point.digest,
        "tag": point.tag,
        "previous": point.previous,
    }


def event_json(event: EventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "kind": event.kind,
        "submission": event.submission_id,
        "digest": event.digest,
        "actor": event.actor,
        "data": event.data,
    }


def detail_json(detail: SubmissionDetail, place: int | None) -> dict[str, Any]:
    """A submission's row plus the whole judgement (runs, layers, notes, entry), its events and twins."""
    state = detail.state
    return {
        **submission_row(state, detail.contest.metric, place),
        "judgement": state.judgement,
        "events": [event_json(e) for e in detail.events],
        "same_digest": list(detail.same_digest),
    }


def export_json(snapshot: Snapshot) -> dict[str, Any]:
    standings = snapshot.standings
    ranked = places(standings)
    return {
        "contest": contest_json(snapshot.contest),
        "version": snapshot.version,
        "queue": dict(snapshot.queue),
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


__all__ = [
    "COLUMNS", "board_json", "contest_json", "detail_json", "event_json", "export_csv", "export_json",
    "places", "record_json", "submission_row",
]  # fmt: skip
