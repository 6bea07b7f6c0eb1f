"""contest/hooks.py on envelopes Debian's docker-registry 2.8 really sent (captured: data/registry_*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegolf.contest.hooks import ENVELOPE_HINT, EVENTS_MEDIA_TYPES, Push, read_envelope, tagged_pushes
from imagegolf.errors import BadInputError

DATA = Path(__file__).parent / "data"
RECORD = "sha256:bd041d43b2e8aed709f71887a968f7b117a00c8b58e46a4e91c2afa3ff6ecdff"


def sample(name: str) -> bytes:
    return (DATA / f"registry_{name}.json").read_bytes()


def envelope(*events: dict[str, object]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def manifest_push(**target: object) -> dict[str, object]:
    base = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": RECORD,
        "repository": "contest",
        "tag": "alice",
        "url": f"http://r/v2/contest/manifests/{RECORD}",
    }
    return {"id": "e1", "action": "push", "target": {**base, **target}}


def test_a_tagged_manifest_push_is_a_push() -> None:
    assert tagged_pushes(sample("manifest_push")) == [Push("contest", "alice", RECORD)]
    # Still a tuple that starts (repository, tag, digest); actor and source follow.
    [push] = tagged_pushes(sample("manifest_push"), "contest")
    assert push[:3] == ("contest", "alice", RECORD)
    assert push == ("contest", "alice", RECORD, None, "distribution")


def test_blob_pushes_and_pulls_are_not_submissions() -> None:
    for name in ("blob_push", "manifest_pull"):
        parsed = read_envelope(sample(name))
        assert parsed.events == 1 and parsed.pushes == ()
        assert len(parsed.skipped) == 1
    assert "blob" in read_envelope(sample("blob_push")).skipped[0].reason
    assert "pull" in read_envelope(sample("manifest_pull")).skipped[0].reason


def test_other_repositories_are_filtered_out() -> None:
    body = envelope(manifest_push(), manifest_push(repository="elsewhere", tag="bob"))
    assert tagged_pushes(body, "elsewhere") == [Push("elsewhere", "bob", RECORD)]
    assert len(tagged_pushes(body)) == 2


def test_a_push_by_digest_names_no_tag() -> None:
    assert tagged_pushes(envelope(manifest_push(tag=None))) == []
    assert "no tag" in read_envelope(envelope(manifest_push(tag=""))).skipped[0].reason


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ],
)
def test_every_manifest_media_type_counts(media_type: str) -> None:
    assert len(tagged_pushes(envelope(manifest_push(mediaType=media_type)))) == 1


def test_odd_events_are_skipped_not_fatal() -> None:
    body = envelope(
        manifest_push(tag="-bad tag"),
        manifest_push(digest="md5:abc"),
        manifest_push(repository=""),
        {"action": "push"},
        "not an object",  # type: ignore[arg-type]
        manifest_push(tag="ok"),
    )
    parsed = read_envelope(body)
    assert parsed.events == 6
    assert parsed.pushes == (Push("contest", "ok", RECORD),)
    assert len(parsed.skipped) == 5


def test_an_empty_envelope_is_fine() -> None:
    assert read_envelope(b"{}").events == 0
    assert read_envelope(b'{"events": []}').pushes == ()


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"events": {}}', b"\xff\xfe"])
def test_a_malformed_envelope_is_bad_input(body: bytes) -> None:
    with pytest.raises(BadInputError) as caught:
        read_envelope(body)
    assert "notification" in str(caught.value)


def test_the_actor_is_the_events_actor_name() -> None:
    pushed = tagged_pushes(envelope({**manifest_push(), "actor": {"name": "alice"}}))
    assert pushed == [Push("contest", "alice", RECORD, "alice", "distribution")]
    assert pushed[0].actor == "alice" and pushed[0].source == "distribution"
    # Debian's registry sends "actor": {} without auth; an empty or odd name is no actor either
    assert tagged_pushes(sample("manifest_push"))[0].actor is None
    for actor in ({"name": ""}, {"name": 7}, {"name": "a\nb"}, {"name": "x" * 300}, "alice", None):
        assert tagged_pushes(envelope({**manifest_push(), "actor": actor}))[0].actor is None


def test_push_is_built_positionally_as_before() -> None:
    push = Push("contest", "alice", RECORD)
    assert (push.repository, push.tag, push.digest, push.actor, push.source) == (
        "contest",
        "alice",
        RECORD,
        None,
        "distribution",
    )
    assert Push("org/contest", "bob", None, "bob", "quay").digest is None


def test_an_envelope_says_its_source_and_counts_every_event() -> None:
    parsed = read_envelope(envelope(manifest_push(), manifest_push(tag=None), {"action": "pull"}))
    assert parsed.source == "distribution"
    assert parsed.events == len(parsed.pushes) + len(parsed.skipped) == 3
    assert read_envelope(b"{}").source == "distribution"


@pytest.mark.parametrize(
    "repository", ["Contest", "contest/", "/contest", "a//b", "-contest", "con test", "x" * 256]
)
def test_a_repository_outside_distributions_grammar_is_skipped(repository: str) -> None:
    parsed = read_envelope(envelope(manifest_push(repository=repository)))
    assert parsed.pushes == ()
    assert "not a repository name" in parsed.skipped[0].reason
    assert len(parsed.skipped[0].reason) < 200  # a sender's long text is not echoed back whole


@pytest.mark.parametrize("repository", ["contest", "org/contest", "a.b_c__d--e/f-1/g2"])
def test_repository_names_with_paths_and_separators_are_fine(repository: str) -> None:
    assert tagged_pushes(envelope(manifest_push(repository=repository)))[0].repository == repository


def test_long_ids_and_tags_are_cut_short_in_reasons() -> None:
    parsed = read_envelope(envelope({**manifest_push(tag="t" * 5000), "id": "i" * 5000}))
    [skipped] = parsed.skipped
    assert len(skipped.event_id) <= 140 and len(skipped.reason) < 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"hello": "world"}',
        b'{"specversion": "1.0", "type": "com.example.pushed", "data": {}}',
        b'{"event_data": {}}',
    ],
)
def test_a_document_of_no_known_format_is_bad_input_listing_the_formats(body: bytes) -> None:
    with pytest.raises(BadInputError) as caught:
        read_envelope(body)
    message = str(caught.value)
    assert "notification" in message
    for name in ("distribution", "Quay", "Harbor", "Docker Hub"):
        assert name in message


def test_the_media_types_still_start_with_distributions_own() -> None:
    assert EVENTS_MEDIA_TYPES[:2] == (
        "application/vnd.docker.distribution.events.v1+json",
        "application/vnd.docker.distribution.events.v2+json",
    )
    assert "application/cloudevents+json" in EVENTS_MEDIA_TYPES  # Harbor's CloudEvents format
    assert "distribution" in ENVELOPE_HINT
