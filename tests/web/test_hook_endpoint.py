"""POST /hooks/registry with envelopes Debian's docker-registry really sent (data/registry_*.json)."""

from __future__ import annotations

import json

import pytest

from imagegolf.contest import Contest
from imagegolf.db import Database
from tests.web.conftest import HOOK_TOKEN, TestClient, client_for
from tests.web.test_hooks import RECORD, envelope, manifest_push, sample

EVENTS = {"Content-Type": "application/vnd.docker.distribution.events.v1+json"}


def test_a_real_push_notification_becomes_a_submission(client: TestClient) -> None:
    answer = client.post("/hooks/registry", content=sample("manifest_push"), headers=EVENTS)
    assert answer.status_code == 202, answer.text
    summary = answer.json()
    assert summary["events"] == 1 and summary["ignored"] == []
    [push] = summary["pushes"]
    assert (push["tag"], push["digest"], push["entrant"], push["note"]) == (
        "alice",
        RECORD,
        "alice",
        "queued",
    )
    detail = client.get(f"/api/submissions/{push['submission']}").json()
    assert detail["via"] == "hook" and detail["status"] == "QUEUED"
    assert detail["events"][0]["actor"] == "hook@testclient"
    assert detail["events"][0]["data"] == {"tag": "alice", "entrant": "alice", "via": "hook"}


def test_the_same_push_twice_is_one_submission(client: TestClient) -> None:
    first = client.post("/hooks/registry", content=sample("manifest_push"), headers=EVENTS).json()
    again = client.post("/hooks/registry", content=sample("manifest_push"), headers=EVENTS).json()
    assert first["pushes"][0]["submission"] is not None
    assert again["pushes"][0]["submission"] is None and again["pushes"][0]["note"] == "already submitted"
    assert len(client.get("/api/submissions").json()["submissions"]) == 1


def test_blobs_pulls_and_other_repositories_are_ignored(client: TestClient) -> None:
    for name in ("blob_push", "manifest_pull"):
        summary = client.post("/hooks/registry", content=sample(name), headers=EVENTS).json()
        assert summary["pushes"] == [] and len(summary["ignored"]) == 1
    other = client.post(
        "/hooks/registry", content=envelope(manifest_push(repository="other/repo")), headers=EVENTS
    )
    assert other.status_code == 202
    assert other.json()["pushes"] == []
    assert other.json()["ignored"] == [
        {"repository": "other/repo", "tag": "alice", "reason": "not the contest's repository (contest)"}
    ]
    assert client.get("/api/submissions").json()["submissions"] == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"events": "x"}'])
def test_a_malformed_envelope_is_400(client: TestClient, body: bytes) -> None:
    answer = client.post("/hooks/registry", content=body, headers=EVENTS)
    assert answer.status_code == 400
    assert "notification" in answer.json()["error"]


def test_a_body_over_1_mib_is_413(client: TestClient) -> None:
    big = json.dumps({"events": [], "padding": "x" * (1024 * 1024)}).encode()
    answer = client.post("/hooks/registry", content=big, headers=EVENTS)
    assert answer.status_code == 413 and "1024 KiB" in answer.json()["error"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(5):
            yield b" " * (300 * 1024)

    streamed = client.post("/hooks/registry", content=chunks(), headers=EVENTS)
    assert streamed.status_code == 413


def test_another_content_type_is_415(client: TestClient) -> None:
    answer = client.post(
        "/hooks/registry", content=sample("manifest_push"), headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 415 and "events.v1+json" in answer.json()["error"]


def test_with_a_hook_token_the_registry_must_send_it(db: Database, contest: Contest) -> None:
    with client_for(db, hook_token=HOOK_TOKEN) as client:
        bare = client.post("/hooks/registry", content=sample("manifest_push"), headers=EVENTS)
        assert bare.status_code == 401
        wrong = client.post(
            "/hooks/registry",
            content=sample("manifest_push"),
            headers={**EVENTS, "Authorization": "Bearer sample-hook-token"},
        )
        assert wrong.status_code == 401
        right = client.post(
            "/hooks/registry",
            content=sample("manifest_push"),
            headers={**EVENTS, "Authorization": f"Bearer {HOOK_TOKEN}"},
        )
        assert right.status_code == 202 and right.json()["pushes"][0]["submission"] is not None
