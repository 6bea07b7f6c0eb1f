"""contest/hooks.py on the push notifications of Quay, Harbor, Docker Hub and GitLab.

The fixtures are the example payloads of each vendor's documentation or source, abridged (the
source is named above each); the last tests feed read_envelope arbitrary JSON documents.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegolf.contest.hooks import SOURCES, Envelope, Push, read_envelope, tagged_pushes
from imagegolf.errors import BadInputError

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

# Red Hat Quay 3.8, "Repository notifications" › "Repository Push" (its example, verbatim)
# https://docs.redhat.com/en/documentation/red_hat_quay/3.8/html/use_red_hat_quay/repository_notifications
QUAY_DOCS = {
    "name": "repository",
    "repository": "dgangaia/test",
    "namespace": "dgangaia",
    "docker_url": "quay.io/dgangaia/test",
    "homepage": "https://quay.io/repository/dgangaia/repository",
    "updated_tags": ["latest"],
}
# quay/quay notifications/notificationevent.py, RepoPushEvent.get_sample_data (Quay's "test
# notification"), built by notifications/__init__.py build_repository_event_data
QUAY_SAMPLE = {
    "repository": "devtable/simple",
    "namespace": "devtable",
    "name": "simple",
    "docker_url": "quay.example.com/devtable/simple",
    "homepage": "https://quay.example.com/repository/devtable/simple",
    "updated_tags": ["latest", "foo"],
    "pruned_image_count": 3,
}

# Harbor, "Configure Webhook Notifications" › "Payload Format" (Default format, verbatim)
# https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/
HARBOR_DIGEST = "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8"
HARBOR_DEFAULT = {
    "type": "PUSH_ARTIFACT",
    "occur_at": 1586922308,
    "operator": "admin",
    "event_data": {
        "resources": [
            {
                "digest": HARBOR_DIGEST,
                "tag": "latest",
                "resource_url": "hub.harbor.com/test-webhook/debian:latest",
            }
        ],
        "repository": {
            "date_created": 1586922308,
            "name": "debian",
            "namespace": "test-webhook",
            "repo_full_name": "test-webhook/debian",
            "repo_type": "private",
        },
    },
}
# goharbor/harbor src/pkg/notifier/formats/cloudevents.go, the example in CloudEvents.Format's
# comment (verbatim: a pull by digest, whose "tag" Harbor fills with the digest)
BUSYBOX = "sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c"
HARBOR_CLOUDEVENT_PULL = {
    "specversion": "1.0",
    "requestid": "2eedfab8-61d3-4f3c-8ec3-8f82d1ec4c84",
    "id": "4b2f89a6-548d-4c12-9993-a1f5790b97d2",
    "source": "/projects/1/webhook/policies/3",
    "type": "harbor.artifact.pulled",
    "datacontenttype": "application/json",
    "time": "2023-03-06T06:08:43Z",
    "data": {
        "resources": [
            {
                "digest": BUSYBOX,
                "tag": BUSYBOX,
                "resource_url": f"harbor.dev/library/busybox@{BUSYBOX}",
            }
        ],
        "repository": {
            "date_created": 1677053165,
            "name": "busybox",
            "namespace": "library",
            "repo_full_name": "library/busybox",
            "repo_type": "public",
        },
    },
    "operator": "robot$library+scanner-Trivy-51fe4548-bbe5-11ed-9217-0242ac14000d",
}
# the same CloudEvent as a push of a tag: the type cloudevents.go maps PUSH_ARTIFACT to
HARBOR_CLOUDEVENT_PUSH = {
    **HARBOR_CLOUDEVENT_PULL,
    "type": "harbor.artifact.pushed",
    "operator": "admin",
    "data": {
        **HARBOR_CLOUDEVENT_PULL["data"],  # type: ignore[dict-item]
        "resources": [{"digest": BUSYBOX, "tag": "1.36", "resource_url": "harbor.dev/library/busybox:1.36"}],
    },
}

# Docker Hub, "Webhooks" › "Example webhook payload" (abridged: the dockerfile and descriptions)
# https://docs.docker.com/docker-hub/repos/manage/webhooks/
DOCKERHUB = {
    "callback_url": "https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
    "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": "latest"},
    "repository": {
        "comment_count": 0,
        "date_created": 1417494799,
        "description": "",
        "full_description": "Docker Hub based automated build from a GitHub repo",
        "is_official": False,
        "is_private": True,
        "is_trusted": True,
        "name": "testhook",
        "namespace": "svendowideit",
        "owner": "svendowideit",
        "repo_name": "svendowideit/testhook",
        "repo_url": "https://registry.hub.docker.com/u/svendowideit/testhook/",
        "star_count": 0,
        "status": "Active",
    },
}

# GitLab's container registry: distribution's envelope. The event's id, timestamp, action and
# target head are those of https://gitlab.com/gitlab-org/gitlab/-/merge_requests/107918 (the
# event GitLab Rails reads); the fields GitLab's fork adds (actor.user_type, actor.user — a JWT —
# and meta) are from gitlab-org/container-registry notifications/event.go.
GITLAB_DIGEST = "sha256:af06af3514c44a964d3b905b498cf6493db8f1cde7c10e078213a89c87308ba0"
GITLAB = {
    "events": [
        {
            "id": "a582a0f3-e620-43e6-8e98-ff850fc9d984",
            "timestamp": "2023-01-25T14:45:54.17327+11:00",
            "action": "push",
            "target": {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "size": 528,
                "digest": GITLAB_DIGEST,
                "length": 528,
                "repository": "group/project/contest",
                "url": f"https://registry.gitlab.example.com/v2/group/project/contest/manifests/{GITLAB_DIGEST}",
                "tag": "alice",
            },
            "request": {
                "id": "b4bb1d4e-1cf4-4bd4-8b0e-5e4f6b1ab46e",
                "addr": "172.17.0.1:44490",
                "host": "registry.gitlab.example.com",
                "method": "PUT",
                "useragent": "docker/24.0.7 go/go1.20.10",
            },
            "actor": {"name": "root", "user_type": "personal_access_token", "user": "eyJhbGciOi.x.y"},
            "source": {"addr": "registry-6d4f:5000", "instanceID": "4b9e3c0a-0c5e-4dd2-9a1d-7e2b9f0c1d2e"},
        }
    ]
}


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_quays_documented_repo_push_is_one_push_without_digest() -> None:
    parsed = read_envelope(body(QUAY_DOCS))
    assert parsed.source == "quay" and parsed.events == 1 and parsed.skipped == ()
    assert parsed.pushes == (Push("dgangaia/test", "latest", None, None, "quay"),)


def test_quays_sample_naming_two_tags_is_two_pushes() -> None:
    assert tagged_pushes(body(QUAY_SAMPLE), "devtable/simple") == [
        Push("devtable/simple", "latest", None, None, "quay"),
        Push("devtable/simple", "foo", None, None, "quay"),
    ]


def test_quay_odd_tags_are_skipped_one_by_one() -> None:
    parsed = read_envelope(body({**QUAY_SAMPLE, "updated_tags": ["ok", "-bad", 7, "", None, "x" * 200]}))
    assert [p.tag for p in parsed.pushes] == ["ok"]
    assert parsed.events == 6 and len(parsed.skipped) == 5
    assert parsed.skipped[0].event_id == "updated_tags[1]" and "not a valid tag" in parsed.skipped[0].reason
    assert {s.reason for s in parsed.skipped[2:4]} == {"no tag"}


def test_quay_without_a_good_repository_skips_every_tag() -> None:
    for repository in (None, "", "Dgangaia/Test", "quay.io:443/ns/name", ["ns/name"]):
        parsed = read_envelope(body({**QUAY_DOCS, "repository": repository}))
        assert parsed.pushes == () and len(parsed.skipped) == 1
        assert "repository" in parsed.skipped[0].reason


def test_quay_updated_tags_that_are_not_a_list_are_bad_input() -> None:
    with pytest.raises(BadInputError, match="notification's 'updated_tags'"):
        read_envelope(body({**QUAY_DOCS, "updated_tags": "latest"}))


def test_harbors_documented_push_names_digest_and_operator() -> None:
    parsed = read_envelope(body(HARBOR_DEFAULT))
    assert parsed.source == "harbor" and parsed.events == 1
    assert parsed.pushes == (Push("test-webhook/debian", "latest", HARBOR_DIGEST, "admin", "harbor"),)


def test_harbors_cloudevent_push_reads_like_the_default_format() -> None:
    parsed = read_envelope(body(HARBOR_CLOUDEVENT_PUSH))
    assert parsed.source == "harbor"
    assert parsed.pushes == (Push("library/busybox", "1.36", BUSYBOX, "admin", "harbor"),)


def test_harbors_cloudevent_pull_is_not_a_push() -> None:
    parsed = read_envelope(body(HARBOR_CLOUDEVENT_PULL))
    assert parsed.source == "harbor" and parsed.pushes == ()
    [skipped] = parsed.skipped
    assert "harbor.artifact.pulled" in skipped.reason
    assert skipped.event_id == "4b2f89a6-548d-4c12-9993-a1f5790b97d2"


@pytest.mark.parametrize("kind", ["PULL_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED", "QUOTA_EXCEED"])
def test_harbor_events_other_than_a_push_are_skipped(kind: str) -> None:
    parsed = read_envelope(body({**HARBOR_DEFAULT, "type": kind}))
    assert parsed.source == "harbor" and parsed.pushes == () and parsed.events == 1
    assert kind in parsed.skipped[0].reason


def test_harbor_resources_without_a_tag_are_skipped_with_a_reason() -> None:
    data = copy.deepcopy(HARBOR_DEFAULT)
    data["event_data"]["resources"] = [  # type: ignore[index]
        {"digest": HARBOR_DIGEST, "resource_url": "h/x@sha256"},  # no tag
        {"digest": HARBOR_DIGEST, "tag": HARBOR_DIGEST},  # pushed by digest: Harbor repeats it
        {"digest": HARBOR_DIGEST, "tag": "v1"},
        {"digest": "sha256:short", "tag": "v2"},
        {"tag": "v3"},  # no digest at all: Harbor always sends one
        "odd",
    ]
    parsed = read_envelope(body(data))
    assert parsed.pushes == (Push("test-webhook/debian", "v1", HARBOR_DIGEST, "admin", "harbor"),)
    reasons = [s.reason for s in parsed.skipped]
    assert reasons[0] == reasons[1] == "an artifact pushed by digest: no tag"
    assert "not a sha256 digest" in reasons[2] and "not a sha256 digest" in reasons[3]
    assert reasons[4] == "not a JSON object"
    assert [s.event_id for s in parsed.skipped] == [f"resources[{i}]" for i in (0, 1, 3, 4, 5)]


def test_harbor_without_resources_is_bad_input() -> None:
    event_data: object
    for event_data in ({"repository": {}}, [], "x"):
        with pytest.raises(BadInputError, match="Harbor notification"):
            read_envelope(body({**HARBOR_DEFAULT, "event_data": event_data}))


def test_docker_hubs_documented_payload_is_one_push_by_its_pusher() -> None:
    parsed = read_envelope(body(DOCKERHUB))
    assert parsed.source == "dockerhub" and parsed.events == 1
    assert parsed.pushes == (Push("svendowideit/testhook", "latest", None, "trustedbuilder", "dockerhub"),)


def test_docker_hub_odd_fields() -> None:
    no_tag = read_envelope(body({**DOCKERHUB, "push_data": {"pusher": "x", "images": ["27d4"]}}))
    assert no_tag.pushes == () and no_tag.skipped[0].reason == "no tag"
    no_repo = read_envelope(body({**DOCKERHUB, "repository": {"name": "testhook"}}))
    assert no_repo.skipped[0].reason == "no repository"
    with pytest.raises(BadInputError, match="push_data"):
        read_envelope(body({**DOCKERHUB, "push_data": None}))


def test_gitlabs_registry_envelope_is_read_as_distribution_events_labelled_gitlab() -> None:
    parsed = read_envelope(body(GITLAB))
    assert parsed.source == "gitlab" and parsed.events == 1
    assert parsed.pushes == (Push("group/project/contest", "alice", GITLAB_DIGEST, "root", "gitlab"),)
    # GitLab's blob pushes and pulls are skipped as distribution's are
    event = GITLAB["events"][0]
    blob = {**event, "action": "push", "target": {"mediaType": "application/octet-stream", "digest": "x"}}
    pull = {**event, "action": "pull"}
    skipped = read_envelope(body({"events": [blob, pull]}))
    assert skipped.source == "gitlab" and skipped.pushes == () and len(skipped.skipped) == 2


def test_without_gitlabs_fields_the_same_envelope_is_plain_distribution() -> None:
    event = {**GITLAB["events"][0], "actor": {"name": "root"}}
    parsed = read_envelope(body({"events": [event]}))
    assert parsed.source == "distribution" and parsed.pushes[0].source == "distribution"
    assert parsed.pushes[0].actor == "root"


# --- the hook answers them --------------------------------------------------------------------


def test_the_hook_takes_harbors_cloudevents_media_type(client: TestClient) -> None:
    answer = client.post(
        "/hooks/registry",
        content=body(HARBOR_CLOUDEVENT_PUSH),
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert answer.status_code == 202, answer.text
    summary = answer.json()
    assert summary["pushes"] == []  # library/busybox is not the contest's repository
    assert summary["ignored"][0]["repository"] == "library/busybox"


def test_the_hook_answers_an_unknown_shape_with_400_naming_the_formats(client: TestClient) -> None:
    answer = client.post(
        "/hooks/registry", content=b'{"hello": 1}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert "Quay" in answer.json()["error"] and "notification" in answer.json()["error"]


# --- arbitrary documents ----------------------------------------------------------------------

KEYS = [
    "events", "id", "action", "target", "mediaType", "digest", "repository", "tag", "url", "actor",
    "name", "user_type", "meta", "updated_tags", "push_data", "pusher", "repo_name", "callback_url",
    "type", "operator", "event_data", "resources", "repo_full_name", "specversion", "data", "x",
]  # fmt: skip
TEXTS = [
    "push", "pull", "PUSH_ARTIFACT", "harbor.artifact.pushed", "harbor.scan.completed", "1.0",
    "contest", "org/contest", "Contest", "latest", "-bad", "", "sha256:" + "ab" * 32,
    "sha256:", "application/vnd.oci.image.manifest.v1+json", "http://r/v2/c/manifests/x",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(TEXTS)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)
documents = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
FIXTURES = [QUAY_DOCS, QUAY_SAMPLE, HARBOR_DEFAULT, HARBOR_CLOUDEVENT_PUSH, DOCKERHUB, GITLAB]


def check(raw: bytes) -> None:
    """read_envelope returns a consistent Envelope or raises BadInputError; nothing else."""
    try:
        parsed = read_envelope(raw)
    except BadInputError as error:
        assert "notification" in str(error)
        return
    assert isinstance(parsed, Envelope) and parsed.source in SOURCES
    assert parsed.events == len(parsed.pushes) + len(parsed.skipped)
    for push in parsed.pushes:
        assert TAG.fullmatch(push.tag) and push.repository and len(push.repository) <= 255
        assert push.digest is None or DIGEST.fullmatch(push.digest)
        assert push.actor is None or (isinstance(push.actor, str) and 0 < len(push.actor) <= 255)
        assert push.source == parsed.source
    for skipped in parsed.skipped:
        assert skipped.reason and len(skipped.reason) < 300 and 0 < len(skipped.event_id) <= 140
    json.dumps([parsed.pushes, [vars(s) for s in parsed.skipped]])  # the hook's answer can hold it


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents | json_values)
def test_arbitrary_json_documents_never_raise_anything_else(document: Any) -> None:
    check(body(document))


def _replace(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the node that ``path`` picks (indices into its keys/items) set to ``value``."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    copied = copy.copy(document)
    keys = list(copied) if isinstance(copied, dict) else list(range(len(copied)))
    key = keys[path[0] % len(keys)]
    copied[key] = _replace(copied[key], path[1:], value)
    return copied


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXTURES), st.lists(st.integers(0, 20), max_size=5), json_values)
def test_documented_payloads_with_any_field_replaced_never_raise_anything_else(
    fixture: dict[str, Any], path: list[int], value: Any
) -> None:
    check(body(_replace(fixture, path, value)))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_fixture_gives_pushes(fixture: dict[str, Any]) -> None:
    parsed = read_envelope(body(fixture))
    assert parsed.pushes and parsed.skipped == ()
