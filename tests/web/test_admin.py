"""Admin actions: off without a token (403), refused without the right one (401), on record when done."""

from __future__ import annotations

import pytest

from imagegolf.contest import Contest, events
from imagegolf.db import Database
from tests.web.conftest import ADMIN_TOKEN, TestClient, client_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_admin_is_off_without_a_token(db: Database, contest: Contest, field: dict[str, int]) -> None:
    with client_for(db) as client:
        for path in (
            "/api/admin/disqualify",
            "/api/admin/rejudge",
            "/api/admin/settings",
            "/api/admin/reinstate",
            "/api/admin/unfreeze",
        ):
            answer = client.post(path, json={"all": True}, headers=AUTH)
            assert answer.status_code == 403
            assert "IMAGEGOLF_ADMIN_TOKEN" in answer.json()["error"]
        assert "Admin actions are disabled" in client.get("/admin").text


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer ", ADMIN_TOKEN, f"Bearer {ADMIN_TOKEN}x"],
)
def test_admin_refuses_a_missing_or_wrong_token(
    client: TestClient, field: dict[str, int], header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    answer = client.post(
        "/api/admin/disqualify", json={"submission": field["alice"], "reason": "r"}, headers=headers
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "token" in answer.json()["error"]


def test_disqualify_is_recorded_with_the_actor(
    client: TestClient, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    answer = client.post(
        "/api/admin/disqualify",
        json={"submission": field["alice"], "reason": "copied"},
        headers={"Authorization": f"bearer {ADMIN_TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "disqualified": 1,
        "submission": str(field["alice"]),
        "reason": "copied",
        "actor": "admin@testclient",
    }
    (event,) = events(db, contest, limit=1, newest_first=True)
    assert (event.kind, event.submission_id, event.actor, event.data) == (
        "disqualified",
        field["alice"],
        "admin@testclient",
        {"reason": "copied"},
    )
    board = client.get("/api/board").json()["board"]
    assert [r["entrant"] for r in board] == ["bob"]
    alice = client.get(f"/api/submissions/{field['alice']}").json()
    assert alice["status"] == "DISQUALIFIED" and "admin@testclient: copied" in alice["reason"]


def test_rejudge_queues_jobs_and_records_who(
    client: TestClient, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    answer = client.post(
        "/api/admin/rejudge", json={"submissions": [field["carol"], str(field["alice"])]}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"queued": [field["carol"], field["alice"]], "actor": "admin@testclient"}
    (event,) = events(db, contest, limit=1, newest_first=True)
    assert (event.kind, event.actor, event.data["submissions"]) == (
        "admin",
        "admin@testclient",
        [field["carol"], field["alice"]],
    )
    jobs = "SELECT submission_id, state FROM jobs WHERE kind = 'rejudge'"
    states = {r["submission_id"]: r["state"] for r in db.run(lambda tx: tx.query(jobs), write=False)}
    assert states[field["carol"]] == "queued" and states[field["alice"]] == "queued"
    every = client.post("/api/admin/rejudge", json={"all": True}, headers=AUTH).json()
    assert sorted(every["queued"]) == sorted(v for k, v in field.items() if k != "dave")  # every judged one


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/admin/disqualify", {"submission": 999, "reason": "x"}, 404, "no submission #999"),
        ("/api/admin/disqualify", {"submission": 1, "reason": "  "}, 400, "'reason'"),
        ("/api/admin/disqualify", {"reason": "x"}, 400, "'submission'"),
        ("/api/admin/disqualify", {"submission": True, "reason": "x"}, 400, "'submission'"),
        ("/api/admin/disqualify", [1], 400, "JSON object"),
        ("/api/admin/rejudge", {}, 400, "either"),
        ("/api/admin/rejudge", {"submissions": []}, 400, "either"),
        ("/api/admin/rejudge", {"submissions": [1], "all": True}, 400, "either"),
        ("/api/admin/rejudge", {"submissions": ["sha256:ffff"]}, 404, "no submission with digest"),
    ],
)
def test_bad_admin_requests_say_why(
    client: TestClient, field: dict[str, int], path: str, body: object, status: int, words: str
) -> None:
    answer = client.post(path, json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]


def test_a_body_that_is_not_json(client: TestClient) -> None:
    answer = client.post("/api/admin/rejudge", content=b"{all: true", headers=AUTH)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_the_admin_page_has_every_form(client: TestClient) -> None:
    html = client.get("/admin").text
    for action in ("disqualify", "rejudge", "settings", "reinstate", "unfreeze"):
        assert f'data-endpoint="/api/admin/{action}"' in html, action
    assert "/static/admin.js?v=" in html and "disabled" not in html
    # The settings form starts from the contest's settings: the metric, the limits.
    assert '<option value="docker_classic" selected>' in html and 'name="runs" data-type="int"' in html
    assert "The public board: the contest has no freeze time" in html
