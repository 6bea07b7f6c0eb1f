"""contest/export.py: one row per submission, stable columns, CSV a spreadsheet cannot execute."""

from __future__ import annotations

import csv
import io
import json

from imagegolf.contest import Contest, snapshot
from imagegolf.contest.export import COLUMNS, export_csv, export_json
from imagegolf.contest.model import METRICS
from imagegolf.db import Database
from tests.web import seed


def test_columns_are_stable() -> None:
    assert COLUMNS[:11] == (
        "id",
        "entrant",
        "tag",
        "digest",
        "first_seen",
        "via",
        "status",
        "verdict",
        "reason",
        "metric",
        "size",
    )
    assert COLUMNS[11:16] == METRICS
    assert COLUMNS[16:] == ("place", "judged_at", "duplicate_of")


def test_csv_has_a_row_per_submission_with_places(
    db: Database, contest: Contest, field: dict[str, int]
) -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(snapshot(db, contest)))))
    assert [int(r["id"]) for r in rows] == sorted(field.values())
    by_id = {int(r["id"]): r for r in rows}
    alice = by_id[field["alice"]]
    assert (alice["status"], alice["size"], alice["place"], alice["docker_classic"]) == (
        "ACCEPTED",
        "73",
        "1",
        "73",
    )
    assert alice["pull_bytes"] == str(seed.metrics(73)["pull_bytes"])
    assert by_id[field["bob_tie"]]["place"] == "2"
    assert by_id[field["bob_big"]]["place"] == ""  # accepted, but not bob's best
    mallory = by_id[field["mallory"]]
    assert (mallory["status"], mallory["verdict"], mallory["duplicate_of"]) == (
        "REJECTED_IMAGE",
        "ACCEPTED",
        str(field["alice"]),
    )
    dave = by_id[field["dave"]]
    assert (dave["status"], dave["verdict"], dave["size"]) == ("QUEUED", "", "")


def test_csv_cells_cannot_be_formulas(db: Database, contest: Contest) -> None:
    contest = seed.make_contest(
        db, "formulas", entrant_map={"eve": '=HYPERLINK("http://x")', "tab": "@SUM(A1)"}
    )
    seed.push(db, contest, "eve")
    seed.push(db, contest, "tab")
    seed.push(db, contest, "plus")
    text = export_csv(snapshot(db, contest))
    entrants = [r["entrant"] for r in csv.DictReader(io.StringIO(text))]
    assert entrants == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "plus"]
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_json_export_has_board_records_and_rows(
    db: Database, contest: Contest, field: dict[str, int]
) -> None:
    data = export_json(snapshot(db, contest))
    json.dumps(data)  # JSON-ready
    assert data["contest"]["name"] == "golf" and data["contest"]["metric"] == "docker_classic"
    assert data["columns"] == list(COLUMNS)
    assert [list(r) for r in data["submissions"]] == [list(COLUMNS)] * len(field)
    assert [(b["place"], b["entrant"], b["size"]) for b in data["board"]] == [
        (1, "alice", 73),
        (2, "bob", 73),
    ]
    assert data["unranked"] == ["mallory", "carol", "dave"]
    assert [(r["entrant"], r["size"], r["previous"]) for r in data["records"]] == [
        ("bob", 5000, None),
        ("alice", 73, 5000),
    ]
