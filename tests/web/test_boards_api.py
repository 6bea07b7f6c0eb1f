"""Several boards of one contest on the API: /api/boards, /api/boards/{name} (paged, its own ETag),
its records and exports, ?board= on the reads, a submission's status and place on every board,
404 for a board the contest does not have, and the freeze on every board.

The judgements are the judge's own shapes (judge/judged.py) with the facts boards read: an
image whose message is in its files (amy), one whose phrase is in its CMD (bob, `imagegolf build
--mode argv`: ``phrase_in`` config), and one that prints the phrase and exits 3 (cat: RUNTIME_ERROR,
``any_exit`` ACCEPTED; its ``sh -c`` command holds the phrase too). tests/contest/test_boards_e2e.py
judges the same three images for real; ``seed.judge_three_kinds`` records them here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from imagegolf.contest import Contest
from imagegolf.contest.settings import change_settings
from imagegolf.db import Database
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN, TestClient, client_for


@pytest.fixture
def three(db: Database, contest: Contest) -> dict[str, int]:
    return seed.judge_three_kinds(db, contest)


def ranked(answer: dict[str, object]) -> list[tuple[str, int]]:
    return [(r["entrant"], r["size"]) for r in answer["board"]]  # type: ignore[index, union-attr]


def test_the_boards_with_their_rules_leaders_and_records(client: TestClient, three: dict[str, int]) -> None:
    answer = client.get("/api/boards")
    assert answer.status_code == 200
    boards = {b["name"]: b for b in answer.json()["boards"]}
    assert list(boards) == ["classic", "open", "pull"]
    classic, opened, pull = boards["classic"], boards["open"], boards["pull"]
    assert (classic["metric"], classic["message"], classic["exit"], classic["platforms"]) == (
        "docker_classic", "files", "zero", [],
    )  # fmt: skip
    assert (opened["message"], opened["exit"], pull["metric"]) == ("anywhere", "any", "pull_bytes")
    assert "in its files only" in classic["rules"] and classic["title"] == "Classic"
    assert (classic["leader"]["entrant"], classic["leader"]["size"], classic["ranked"]) == ("amy", 71, 1)
    assert (opened["leader"]["entrant"], opened["ranked"]) == ("bob", 3)
    assert (pull["leader"]["entrant"], pull["leader"]["size"]) == ("bob", 600)
    assert opened["record"]["entrant"] == "bob" and opened["record"]["previous"] == 71
    assert answer.json()["frozen"] is False
    again = client.get("/api/boards", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


def test_each_board_is_paged_like_the_board_with_its_own_etag(
    client: TestClient, three: dict[str, int]
) -> None:
    first = client.get("/api/board").json()
    assert first["board_rules"]["name"] == "classic" and ranked(first) == [("amy", 71)]
    assert first["unranked"] == ["bob", "cat"]
    why = {u["entrant"]: u for u in first["unranked_latest"]}
    assert why["bob"]["status"] == "REJECTED_IMAGE" and "config holds the phrase" in why["bob"]["reason"]
    assert why["cat"]["status"] == "RUNTIME_ERROR"
    opened = client.get("/api/boards/open")
    assert opened.status_code == 200
    assert ranked(opened.json()) == [("bob", 50), ("amy", 71), ("cat", 1_000_000)]
    assert opened.json()["metric"] == "docker_classic" and opened.json()["board_rules"]["exit"] == "any"
    page = client.get("/api/boards/open?page=2&per_page=2").json()
    assert (page["page"], page["pages"], ranked(page)) == (2, 2, [("cat", 1_000_000)])
    pull = client.get("/api/boards/pull")
    assert ranked(pull.json()) == [("bob", 600), ("amy", 621)] and pull.json()["metric"] == "pull_bytes"
    paths = ("/api/board", "/api/boards/open", "/api/boards/pull")
    tags = {client.get(path).headers["etag"] for path in paths}
    assert len(tags) == 3  # a client holding one board's tag is never told another is unchanged
    held = client.get("/api/boards/open", headers={"If-None-Match": opened.headers["etag"]})
    assert held.status_code == 304
    other = client.get("/api/boards/pull", headers={"If-None-Match": opened.headers["etag"]})
    assert other.status_code == 200


def test_a_board_the_contest_does_not_have_is_a_404_naming_the_boards(
    client: TestClient, three: dict[str, int]
) -> None:
    for path in (
        "/api/boards/nope",
        "/api/boards/nope/records",
        "/api/boards/nope/export.csv",
        "/api/boards/nope/export.json",
        "/api/board?page=1&board=x",  # /api/board ignores it: always the first board
        "/api/timeline?board=nope",
        "/api/submissions?board=nope",
        "/api/entrants/amy?board=nope",
        "/api/export.json?board=nope",
    ):
        answer = client.get(path)
        if path.startswith("/api/board?"):
            assert answer.status_code == 200
            continue
        assert answer.status_code == 404, path
        assert answer.json()["error"].startswith("no board named 'nope' (boards: classic, open, pull)")
    long = client.get("/api/boards/" + "x" * 300)
    assert long.status_code == 404 and "x" * 41 not in long.json()["error"]


def test_board_records_and_the_reads_that_take_a_board(client: TestClient, three: dict[str, int]) -> None:
    records = client.get("/api/boards/open/records").json()
    assert (records["board"], records["metric"]) == ("open", "docker_classic")
    assert [(r["entrant"], r["size"], r["previous"]) for r in records["records"]] == [
        ("amy", 71, None),
        ("bob", 50, 71),
    ]
    assert client.get("/api/timeline?board=open").json() == records
    assert [r["entrant"] for r in client.get("/api/timeline").json()["records"]] == ["amy"]
    listed = client.get("/api/submissions?board=open").json()
    assert listed["board"] == "open"
    assert [(s["entrant"], s["status"], s["place"]) for s in listed["submissions"]] == [
        ("amy", "ACCEPTED", 2),
        ("bob", "ACCEPTED", 1),
        ("cat", "ACCEPTED", 3),
    ]
    cat = client.get("/api/entrants/cat?board=open").json()
    assert (cat["board"], cat["place"]) == ("open", 3)
    assert "does not count on this board" in cat["submissions"][0]["reason"]
    assert client.get("/api/entrants/cat").json()["place"] is None  # the first board: classic


def test_a_submission_says_its_status_and_place_on_every_board(
    client: TestClient, three: dict[str, int]
) -> None:
    bob = client.get(f"/api/submissions/{three['bob']}").json()
    assert (bob["status"], bob["verdict"], bob["place"]) == ("REJECTED_IMAGE", "ACCEPTED", None)
    on = bob["boards"]
    assert list(on) == ["classic", "open", "pull"]
    assert on["classic"]["status"] == "REJECTED_IMAGE" and on["classic"]["place"] is None
    assert "config holds the phrase" in on["classic"]["reason"]
    assert (on["open"]["status"], on["open"]["size"], on["open"]["place"]) == ("ACCEPTED", 50, 1)
    assert (on["pull"]["metric"], on["pull"]["size"], on["pull"]["place"]) == ("pull_bytes", 600, 1)
    cat = client.get(f"/api/submissions/{three['cat']}").json()["boards"]
    assert {name: b["status"] for name, b in cat.items()} == {
        "classic": "RUNTIME_ERROR",
        "open": "ACCEPTED",
        "pull": "RUNTIME_ERROR",
    }  # prints the phrase and exits 3: accepted on open only


def test_exports_per_board(client: TestClient, three: dict[str, int]) -> None:
    named = client.get("/api/boards/open/export.csv")
    assert named.status_code == 200 and 'filename="golf-open.csv"' in named.headers["content-disposition"]
    rows = {r["entrant"]: r for r in csv.DictReader(io.StringIO(named.text))}
    assert {e: (r["status"], r["place"]) for e, r in rows.items()} == {
        "amy": ("ACCEPTED", "2"),
        "bob": ("ACCEPTED", "1"),
        "cat": ("ACCEPTED", "3"),
    }
    assert client.get("/api/export.csv?board=open").text == named.text
    first = {r["entrant"]: r for r in csv.DictReader(io.StringIO(client.get("/api/export.csv").text))}
    assert (first["bob"]["status"], first["bob"]["place"]) == ("REJECTED_IMAGE", "")
    exported = client.get("/api/boards/pull/export.json")
    data = exported.json()
    assert 'filename="golf-pull.json"' in exported.headers["content-disposition"]
    assert data["board_rules"]["name"] == "pull" and [r["entrant"] for r in data["board"]] == ["bob", "amy"]
    assert {s["metric"] for s in data["submissions"]} == {"pull_bytes"}
    assert client.get("/api/export.json").json()["board_rules"]["name"] == "classic"


@pytest.fixture
def frozen(db: Database, contest: Contest, three: dict[str, int]) -> Iterator[TestClient]:
    """The three boards, frozen after the three were pushed; then dan's 40-byte argv image."""
    change_settings(db, contest, {"freeze_at": seed.at(5)}, actor="admin")
    three["dan"] = seed.push(db, contest, "dan", minutes=10)
    seed.judge(db, contest, three["dan"], size=40, any_exit="ACCEPTED", phrase_in="config")
    with client_for(db, admin_token=ADMIN_TOKEN) as client:
        yield client


def test_every_board_freezes(frozen: TestClient, three: dict[str, int]) -> None:
    public = {b["name"]: b for b in frozen.get("/api/boards").json()["boards"]}
    assert public["open"]["leader"]["entrant"] == "bob" and public["open"]["ranked"] == 3
    real = frozen.get("/api/boards", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert {b["name"]: b["leader"]["entrant"] for b in real["boards"]} == {
        "classic": "amy",
        "open": "dan",
        "pull": "dan",
    }
    opened = frozen.get("/api/boards/open").json()
    assert opened["frozen"] is True and "dan" not in [e for e, _ in ranked(opened)]
    assert [r["entrant"] for r in frozen.get("/api/boards/open/records").json()["records"]] == ["amy", "bob"]
    rows = list(csv.DictReader(io.StringIO(frozen.get("/api/boards/open/export.csv").text)))
    assert {r["entrant"]: r["status"] for r in rows}["dan"] == "FROZEN"
    own = frozen.get(f"/api/submissions/{three['dan']}").json()["boards"]
    assert (own["open"]["status"], own["open"]["place"]) == ("ACCEPTED", 1)  # its own page: the truth
