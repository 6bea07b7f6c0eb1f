"""The admin page's notifications: GET /api/admin/notifications needs the admin token and never
shows a webhook's secret path; the /admin page has the section its script fills."""

from __future__ import annotations

from imagegolf.contest import Contest
from imagegolf.contest.notify import add_webhook
from imagegolf.contest.sender import Answer, Sender, SenderOptions
from imagegolf.db import Database
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN, TestClient, client_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "/api/webhooks/123456789/abcdefTOKEN"


def test_the_deliveries_are_shown_to_the_admin_only(
    db: Database, contest: Contest, client: TestClient
) -> None:
    add_webhook(db, contest, f"https://discord.com{SECRET}", fmt="discord", kinds=("record", "verdict"))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)

    def refuse(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        return Answer(503, "HTTP 503: upstream busy", 30.0)

    Sender(db, options=SenderOptions(), send=refuse).run_once()

    assert client.get("/api/admin/notifications").status_code == 401
    assert client.get("/api/admin/notifications", headers={"Authorization": "Bearer x"}).status_code == 401
    answer = client.get("/api/admin/notifications", headers=AUTH)
    assert answer.status_code == 200
    data = answer.json()
    [hook] = data["webhooks"]
    assert (hook["target"], hook["format"], hook["on"]) == (
        "https://discord.com",
        "discord",
        ["record", "verdict"],
    )
    assert hook["retry_at"] is not None and hook["deliveries"]["queued"] >= 2
    first = data["deliveries"][-1]  # newest first: the oldest is the verdict, tried once
    assert (first["kind"], first["state"], first["attempts"], first["last_status"]) == (
        "verdict",
        "queued",
        1,
        503,
    )
    assert first["last_error"] == "HTTP 503: upstream busy" and first["next_at"] is not None
    assert SECRET not in answer.text and "abcdefTOKEN" not in answer.text
    assert client.get("/api/admin/notifications?limit=0", headers=AUTH).status_code == 400
    assert len(client.get("/api/admin/notifications?limit=1", headers=AUTH).json()["deliveries"]) == 1

    page = client.get("/admin").text
    assert 'id="notifications"' in page and 'id="load-notifications"' in page
    assert SECRET not in page and SECRET not in client.get("/api/events").text


def test_the_notifications_are_off_without_an_admin_token(db: Database, contest: Contest) -> None:
    with client_for(db) as client:
        answer = client.get("/api/admin/notifications", headers=AUTH)
        assert answer.status_code == 403
