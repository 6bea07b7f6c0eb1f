"""The hook checks every notification with the registry, and takes the entrant from the contest's
identity: the tag, the registry account that pushed, or the entrant's own repository."""

from __future__ import annotations

import json

from imagegolf.contest import Contest, accounts
from imagegolf.contest.intake import NO_ACCOUNT
from imagegolf.db import Database
from tests.web import seed
from tests.web.conftest import HOOK_TOKEN, TestClient, client_for
from tests.web.held_registry import SAMPLE_DIGEST, HeldRegistry
from tests.web.test_hooks import envelope, manifest_push

EVENTS = {"Content-Type": "application/vnd.docker.distribution.events.v1+json"}
OTHER = "sha256:" + "ab" * 32
THIRD = "sha256:" + "cd" * 32


def pushed_by(actor: str | None, **target: object) -> bytes:
    event = manifest_push(**target)
    if actor is not None:
        event["actor"] = {"name": actor}
    return envelope(event)


def submissions(client: TestClient) -> list[dict[str, object]]:
    return list(client.get("/api/submissions").json()["submissions"])


def test_a_digest_the_registry_does_not_hold_creates_nothing(client: TestClient) -> None:
    forged = client.post("/hooks/registry", content=pushed_by(None, digest=OTHER), headers=EVENTS)
    assert forged.status_code == 202  # not an error: sending it again would change nothing
    [push] = forged.json()["pushes"]
    assert push["submission"] is None and push["note"].startswith("not recorded:")
    assert "forged" in push["note"]
    unknown_tag = client.post("/hooks/registry", content=pushed_by(None, tag="bob"), headers=EVENTS)
    assert "contest:bob is gone" in unknown_tag.json()["pushes"][0]["note"]  # never there
    assert submissions(client) == []


def test_a_registry_that_cannot_be_asked_is_503_so_the_sender_retries(db: Database, contest: Contest) -> None:
    registry = HeldRegistry({("contest", "alice"): SAMPLE_DIGEST})
    registry.down = True
    with client_for(db, registry) as client:
        answer = client.post("/hooks/registry", content=pushed_by(None), headers=EVENTS)
        assert answer.status_code == 503 and "cannot check" in answer.json()["error"]
        registry.down = False
        again = client.post("/hooks/registry", content=pushed_by(None), headers=EVENTS)
        assert again.status_code == 202 and again.json()["pushes"][0]["submission"] is not None


def test_without_registry_access_the_hook_refuses(db: Database, contest: Contest) -> None:
    from fastapi.testclient import TestClient as Plain

    from imagegolf.web import create_app

    with Plain(create_app(db, None), raise_server_exceptions=False) as client:
        answer = client.post("/hooks/registry", content=pushed_by(None), headers=EVENTS)
    assert answer.status_code == 503 and "registry access" in answer.json()["error"]


def test_the_hook_token_may_come_in_the_query_for_senders_without_headers(
    db: Database, contest: Contest
) -> None:
    with client_for(db, hook_token=HOOK_TOKEN) as client:
        wrong = client.post("/hooks/registry?token=nope", content=pushed_by(None), headers=EVENTS)
        assert wrong.status_code == 401
        right = client.post(f"/hooks/registry?token={HOOK_TOKEN}", content=pushed_by(None), headers=EVENTS)
        assert right.status_code == 202 and right.json()["pushes"][0]["submission"] is not None


def test_registry_user_the_account_that_pushed_is_the_entrant(db: Database) -> None:
    contest = seed.make_contest(db, identity="registry-user")
    for name in ("alice", "mallory"):
        accounts.add_entrant(db, contest, name, f"{name}-password", actor="test")
    registry = HeldRegistry(
        {("contest", "alice"): SAMPLE_DIGEST, ("contest", "bob"): OTHER, ("contest", "carol"): THIRD}
    )
    with client_for(db, registry) as client:
        # mallory pushes the tag "alice": the board credits mallory, the tag is a label.
        answer = client.post("/hooks/registry", content=pushed_by("mallory"), headers=EVENTS).json()
        assert answer["pushes"][0]["entrant"] == "mallory"
        # an account that is not an entrant, and a notification naming none: recorded, not judged
        stranger = client.post(
            "/hooks/registry", content=pushed_by("eve", tag="bob", digest=OTHER), headers=EVENTS
        ).json()["pushes"][0]
        assert stranger["entrant"] == "eve" and "not an entrant" in stranger["note"]
        detail = client.get(f"/api/submissions/{stranger['submission']}").json()
        assert detail["status"] == "NOT_AN_ENTRANT"
        nobody = client.post(
            "/hooks/registry", content=pushed_by(None, tag="carol", digest=THIRD), headers=EVENTS
        ).json()["pushes"][0]
        assert nobody["entrant"] == NO_ACCOUNT and "did not say which account" in nobody["note"]
        rows = {s["entrant"]: s for s in submissions(client)}
        assert "alice" not in rows and rows["mallory"]["tag"] == "alice"
        assert rows["mallory"]["status"] == "QUEUED"


def test_per_entrant_the_repository_names_the_entrant(db: Database) -> None:
    contest = seed.make_contest(db, repositories="per-entrant")
    accounts.add_entrant(db, contest, "alice", "alice-password", actor="test")
    registry = HeldRegistry({("contest/alice", "v1"): SAMPLE_DIGEST, ("contest/zed", "v1"): OTHER})
    with client_for(db, registry) as client:
        own = client.post(
            "/hooks/registry",
            content=pushed_by("alice", repository="contest/alice", tag="v1"),
            headers=EVENTS,
        ).json()
        [push] = own["pushes"]
        assert (push["entrant"], push["tag"], push["note"]) == ("alice", "alice:v1", "queued")
        shared = client.post("/hooks/registry", content=pushed_by("alice"), headers=EVENTS).json()
        assert shared["pushes"] == [] and shared["ignored"][0]["repository"] == "contest"
        orphan = client.post(
            "/hooks/registry",
            content=pushed_by(None, repository="contest/zed", tag="v1", digest=OTHER),
            headers=EVENTS,
        ).json()["pushes"][0]
        assert "belongs to no entrant account" in orphan["note"]
    assert json.loads(json.dumps(registry.asked))[0] == ["contest/alice", "v1"]
