"""The JSON API's shapes and the board's rules (tie: first seen wins; a copy is a duplicate)."""

from __future__ import annotations

import pytest

from imagegolf.contest import Contest
from imagegolf.contest.export import COLUMNS
from imagegolf.db import Database
from tests.web import seed
from tests.web.conftest import TestClient, client_for


def test_board_order_tie_and_duplicate(client: TestClient, field: dict[str, int]) -> None:
    board = client.get("/api/board").json()
    assert board["metric"] == "docker_classic"
    rows = [(r["place"], r["entrant"], r["size"], r["submission"]) for r in board["board"]]
    assert rows == [
        (1, "alice", 73, field["alice"]),
        (2, "bob", 73, field["bob_tie"]),
    ]  # alice was first at 73
    assert board["board"][1]["submissions"] == 2 and board["board"][1]["accepted"] == 2
    assert board["unranked"] == ["mallory", "carol", "dave"]
    assert board["pending"] == 1 and board["queue"] == {"queued": 1, "running": 0}
    mallory = client.get(f"/api/submissions/{field['mallory']}").json()
    assert mallory["status"] == "REJECTED_IMAGE" and mallory["verdict"] == "ACCEPTED"
    assert mallory["duplicate_of"] == field["alice"] and "duplicate" in mallory["reason"]
    assert mallory["same_digest"] == [field["alice"]]


def test_contest_and_timeline(client: TestClient, field: dict[str, int]) -> None:
    contest = client.get("/api/contest").json()
    assert (
        contest["name"] == "golf" and contest["phrase"] == seed.PHRASE and contest["repository"] == "contest"
    )
    assert contest["watched"] == seed.REPOSITORY and contest["match"] == "contains"
    assert contest["submissions"] == 6 and contest["entrants"] == 5
    timeline = client.get("/api/timeline").json()
    assert [(r["entrant"], r["size"], r["previous"]) for r in timeline["records"]] == [
        ("bob", 5000, None),
        ("alice", 73, 5000),
    ]


def test_submissions_and_one_submission(client: TestClient, field: dict[str, int]) -> None:
    listed = client.get("/api/submissions").json()
    assert listed["columns"] == list(COLUMNS)
    assert [s["id"] for s in listed["submissions"]] == list(field.values())
    one = client.get(f"/api/submissions/{field['carol']}").json()
    assert one["status"] == "WRONG_OUTPUT" and one["reason"] == "stdout lacks the phrase"
    assert one["judgement"]["runs"][0]["stdout"] == "hello world\n"
    assert [e["kind"] for e in one["events"]] == ["submitted", "judged"]
    assert one["events"][1]["actor"] == "worker:testhost:1:0"
    by_digest = client.get(f"/api/submissions/{seed.digest('carol-v1')[:20]}").json()
    assert by_digest["id"] == field["carol"]


def test_entrant_history(client: TestClient, field: dict[str, int]) -> None:
    bob = client.get("/api/entrants/bob").json()
    assert bob["place"] == 2 and bob["best"]["submission"] == field["bob_tie"]
    assert [s["id"] for s in bob["submissions"]] == [field["bob_big"], field["bob_tie"]]
    assert client.get("/api/entrants/dave").json()["place"] is None


def test_events_after_and_version(
    client: TestClient, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    everything = client.get("/api/events").json()
    kinds = [e["kind"] for e in everything["events"]]
    assert kinds[0] == "contest_created" and kinds.count("submitted") == 6 and kinds.count("judged") == 5
    last = everything["last"]
    assert client.get(f"/api/events?after={last}").json() == {"events": [], "more": False, "last": last}
    version = client.get("/api/version").json()
    assert version["version"] == last
    seed.judge(db, contest, field["dave"], size=60)
    after = client.get("/api/version").json()
    assert after["version"] > last and after["etag"] != version["etag"]
    new = client.get(f"/api/events?after={last}").json()["events"]
    assert [(e["kind"], e["submission"]) for e in new] == [("judged", field["dave"])]
    assert client.get("/api/board").json()["board"][0]["entrant"] == "dave"


def test_exports_are_downloads(client: TestClient, field: dict[str, int]) -> None:
    csv_answer = client.get("/api/export.csv")
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert csv_answer.headers["content-disposition"] == 'attachment; filename="golf.csv"'
    assert csv_answer.text.splitlines()[0] == ",".join(COLUMNS)
    assert len(csv_answer.text.splitlines()) == 1 + len(field)
    data = client.get("/api/export.json").json()
    assert len(data["submissions"]) == len(field) and data["board"][0]["entrant"] == "alice"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/submissions/999", 404, "no submission #999"),
        ("/api/submissions/sha256:ffff", 404, "no submission with digest"),
        ("/api/entrants/nobody", 404, "'nobody' has made no submission"),
        ("/api/events?after=abc", 400, "invalid request"),
        ("/api/events?after=-1", 400, "invalid request"),
        ("/api/nothing", 404, "nothing at /api/nothing"),
    ],
)
def test_errors_are_json_with_a_message(
    client: TestClient, field: dict[str, int], path: str, status: int, words: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert words in answer.json()["error"] and answer.json()["status"] == status


def test_no_contest_yet_is_503_with_the_fix(db: Database) -> None:
    with client_for(db) as client:
        answer = client.get("/api/board")
        assert answer.status_code == 503 and "contest init" in answer.json()["error"]
        page = client.get("/")
        assert page.status_code == 503 and "contest init" in page.text
        seed.make_contest(db)
        assert client.get("/api/board").status_code == 200  # found once it exists


def test_openapi_but_no_cdn_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/board" in spec["paths"] and "/hooks/registry" in spec["paths"]
    assert "/" not in spec["paths"]  # the HTML pages are not API
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_same_answers_on_postgresql_and_sqlite(any_db: Database) -> None:
    contest = seed.make_contest(any_db)
    first = seed.push(any_db, contest, "alice", minutes=1)
    second = seed.push(any_db, contest, "bob", minutes=2)
    seed.judge(any_db, contest, second, size=73)
    seed.judge(any_db, contest, first, size=73)
    with client_for(any_db) as client:
        board = client.get("/api/board").json()["board"]
        assert [(r["entrant"], r["place"]) for r in board] == [("alice", 1), ("bob", 2)]
        assert client.get("/").status_code == 200
        assert len(client.get("/api/export.csv").text.splitlines()) == 3


@pytest.mark.parametrize("key", ["99999999999999999999999", "9" * 5000, "4611686018427387905", "²"])
def test_an_id_beyond_any_database_is_not_found_not_a_fault(client: TestClient, key: str) -> None:
    for path in (f"/api/submissions/{key}", f"/submissions/{key}"):
        answer = client.get(path)
        assert answer.status_code == 404, (path[:40], answer.status_code, answer.text[:200])
        assert "Traceback" not in answer.text
