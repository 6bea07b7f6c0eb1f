"""`GET /api/rules` (what an entrant's client judges by) and `GET /api/digests/{digest}` (where a
pushed digest went): their shapes, the ETag, and that they follow the contest's settings."""

from __future__ import annotations

from typing import Any

from imagegolf.contest.settings import change_settings
from imagegolf.db import Database
from imagegolf.judge.boards import default_boards
from imagegolf.web.rules_api import RULES_VERSION, contest_boards
from tests.web import seed
from tests.web.conftest import TestClient, client_for

KEYS = {
    "rules_version", "contest", "registry", "repository", "repositories", "identity", "entrant_pattern",
    "entrant_map", "phrase", "match", "metric", "platforms", "limits", "window", "boards", "push_to",
}  # fmt: skip


def rules(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/rules")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return dict(answer.json())


def test_the_rules_of_a_shared_repository_contest(db: Database) -> None:
    contest = seed.make_contest(
        db,
        match="line",
        platform="linux/amd64,linux/386",
        entrant_pattern=r"(?P<entrant>[a-z]+)(-v\d+)?",
        entrant_map={"Amy": "amy"},
        limits={"runs": 2, "timeout_s": 7.5, "cross_check": False, "per_entrant_per_hour": 9},
        starts_at="2026-05-01T09:00:00Z",
        ends_at="2026-05-02T09:00:00Z",
        freeze_at="2026-05-02T08:00:00Z",
    )
    with client_for(db) as client:
        found = rules(client)
    assert set(found) == KEYS
    assert found["rules_version"] == RULES_VERSION == 1
    assert (found["contest"], found["registry"], found["repository"]) == ("golf", "127.0.0.1:5000", "contest")
    assert (found["repositories"], found["identity"]) == ("shared", "tag")
    assert found["entrant_pattern"] == r"(?P<entrant>[a-z]+)(-v\d+)?" and found["entrant_map"] == {
        "Amy": "amy"
    }
    assert (found["phrase"], found["match"], found["metric"]) == (seed.PHRASE, "line", "docker_classic")
    assert found["platforms"] == ["linux/amd64", "linux/386"]
    assert found["limits"] == {"runs": 2, "timeout_s": 7.5, "cross_check": False, "runtime": "runc"}
    assert found["window"] == {
        "starts_at": "2026-05-01T09:00:00.000000Z",
        "ends_at": "2026-05-02T09:00:00.000000Z",
        "freeze_at": "2026-05-02T08:00:00.000000Z",
    }
    assert found["push_to"] == "127.0.0.1:5000/contest:<tag>"
    assert found["boards"] == [b.to_json() for b in contest_boards(db, contest)]
    assert [b["name"] for b in found["boards"]] == [b.name for b in default_boards(contest.metric)]
    for board in found["boards"]:
        assert set(board) >= {"name", "title", "metric", "message", "exit", "platforms", "rules"}


def test_per_entrant_repositories_push_to_your_own(db: Database) -> None:
    seed.make_contest(db, identity="registry-user", repositories="per-entrant")
    with client_for(db) as client:
        found = rules(client)
    assert (found["repositories"], found["identity"]) == ("per-entrant", "registry-user")
    assert found["push_to"] == "127.0.0.1:5000/contest/<you>:<tag>"
    assert found["entrant_pattern"] is None and found["entrant_map"] == {}  # the tag is only a label
    assert found["platforms"] == [] and found["window"]["ends_at"] is None


def test_the_rules_carry_an_etag_and_change_with_the_settings(db: Database) -> None:
    contest = seed.make_contest(db)
    with client_for(db) as client:
        first = client.get("/api/rules")
        tag = first.headers["etag"]
        assert tag.startswith('"rules-') and first.headers["cache-control"] == "no-cache"
        again = client.get("/api/rules", headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        seed.push(db, contest, "alice")  # an event that changes no rule: the same tag
        assert client.get("/api/rules", headers={"If-None-Match": tag}).status_code == 304
        change_settings(db, contest, {"runs": 5, "metric": "pull_bytes"}, actor="test")
        changed = client.get("/api/rules", headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        assert changed.json()["limits"]["runs"] == 5 and changed.json()["metric"] == "pull_bytes"


def test_a_digest_names_its_submissions(db: Database) -> None:
    contest = seed.make_contest(db)
    first = seed.push(db, contest, "alice", "image-1", minutes=1)
    second = seed.push(db, contest, "bob", "image-1", minutes=2)
    seed.push(db, contest, "carol", "image-2", minutes=3)
    digest = seed.digest("image-1")
    with client_for(db) as client:
        found = client.get(f"/api/digests/{digest}").json()
        assert found["digest"] == digest and found["more"] is False
        assert [(s["id"], s["entrant"], s["tag"], s["via"]) for s in found["submissions"]] == [
            (first, "alice", "alice", "poll"),
            (second, "bob", "bob", "poll"),
        ]
        assert found["submissions"][0]["first_seen"] == seed.at(1)
        only_bob = client.get(f"/api/digests/{digest}", params={"tag": "bob"}).json()["submissions"]
        assert [s["id"] for s in only_bob] == [second]
        by_entrant = client.get(f"/api/digests/{digest}", params={"entrant": "alice"}).json()["submissions"]
        assert [s["id"] for s in by_entrant] == [first]
        unseen = client.get(f"/api/digests/{seed.digest('never pushed')}")
        assert unseen.status_code == 200 and unseen.json()["submissions"] == []
        for bad in ("sha256:abcd", "alice", "sha256:" + "G" * 64):
            refused = client.get(f"/api/digests/{bad}")
            assert refused.status_code == 400 and "not a digest" in refused.json()["error"]
