"""Tags that are not entries are not submissions: cosign's sidecar tags and OCI artifacts.

A real docker-registry on 127.0.0.1 holds an image and, beside it, what signing and SBOM tools
push into the same repository — written here byte for byte as cosign 2.x and oras write them
(cosign is not packaged, and skopeo cannot make these): a signature under cosign's
``sha256-<hex>.sig`` tag, the same signature under an ordinary tag, and an SPDX SBOM pushed as an
OCI 1.1 referrer (``subject`` + ``artifactType``). The poller and the registry's push
notifications must both make one submission (the image) of them, remember the rest as seen, log
each once, and queue nothing for them. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass

import httpx
import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.contest import Contest, create_contest, record_push
from imagegolf.contest.watch import poll_once
from imagegolf.db import Database
from imagegolf.db import queries as q
from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.platform import DEFAULT
from imagegolf.processes import free_port
from imagegolf.registry import RegistryClient, open_registry
from imagegolf.web import create_app
from imagegolf.web.server import serve_in_thread
from tests.registry_services import DistributionRegistry
from tests.web.test_server import HOOK_TOKEN, NotifyingRegistry

with warnings.catch_warnings():  # starlette 1.x warns that its TestClient will move to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PHRASE = "hello IDBS engineering"
INTAKE_LOG = "imagegolf.contest.intake"
EMPTY_CONFIG = b"{}"  # image-spec 1.1's empty descriptor content


@dataclass(frozen=True)
class Pushed:
    tag: str
    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Repository:
    """What the tests push: an image, and three things beside it that are not entries."""

    image: Pushed
    signature: Pushed  # cosign's sidecar tag: sha256-<hex of the image>.sig
    signature_copy: Pushed  # the same signature manifest under an ordinary tag
    sbom: Pushed  # an OCI 1.1 referrer with an artifactType

    @property
    def others(self) -> tuple[Pushed, ...]:
        return (self.signature, self.signature_copy, self.sbom)

    @property
    def everything(self) -> tuple[Pushed, ...]:
        return (self.image, *self.others)


def _blob(client: RegistryClient, repository: str, data: bytes) -> str:
    return str(client.upload_blob(repository, data))


def _manifest(client: RegistryClient, repository: str, tag: str, raw: bytes, media_type: str) -> Pushed:
    digest = client.put_manifest(repository, tag, raw, media_type)
    assert digest == Digest.of(raw)
    return Pushed(tag, str(digest), media_type, len(raw))


def cosign_signature(client: RegistryClient, repository: str, image: Pushed) -> bytes:
    """A cosign 2.x signature manifest of ``image``, byte for byte as cosign writes it: the
    simple-signing payload as its one layer, the signature in the layer's annotation, and an OCI
    image config naming the payload as its rootfs."""
    payload = (
        '{"critical":{"identity":{"docker-reference":"'
        + f"{client.registry}/{repository}"
        + '"},"image":{"docker-manifest-digest":"'
        + image.digest
        + '"},"type":"cosign container image signature"},"optional":null}'
    ).encode()
    payload_digest = _blob(client, repository, payload)
    config = (
        '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],'
        '"os":"","rootfs":{"type":"layers","diff_ids":["' + payload_digest + '"]},"config":{}}'
    ).encode()
    config_digest = _blob(client, repository, config)
    signature = (
        "MEUCIQDpFfb2cJ1mZ0XRYv1xJm2VZlPd0Lh4m8YlqkI1qZ8qHQIgYk9dM1n0e3o3Gm0m2qv0Pp7xY6cZk1Q2Z3b4c5d6e7f8="
    )
    return (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        '"config":{"mediaType":"application/vnd.oci.image.config.v1+json",'
        f'"size":{len(config)},"digest":"{config_digest}"}},'
        '"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json",'
        f'"size":{len(payload)},"digest":"{payload_digest}",'
        f'"annotations":{{"dev.cosignproject.cosign/signature":"{signature}"}}}}]}}'
    ).encode()


def spdx_referrer(client: RegistryClient, repository: str, image: Pushed) -> bytes:
    """An SPDX SBOM of ``image`` as ``oras attach --artifact-type application/spdx+json`` pushes
    it: the empty config, the document as its layer, the image as its subject."""
    document = json.dumps({"spdxVersion": "SPDX-2.3", "name": "golf", "packages": []}).encode()
    document_digest = _blob(client, repository, document)
    empty_digest = _blob(client, repository, EMPTY_CONFIG)
    assert empty_digest == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    return (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        '"artifactType":"application/spdx+json",'
        f'"config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty_digest}",'
        '"size":2,"data":"e30="},'
        f'"layers":[{{"mediaType":"application/spdx+json","digest":"{document_digest}",'
        f'"size":{len(document)},"annotations":{{"org.opencontainers.image.title":"sbom.spdx.json"}}}}],'
        f'"subject":{{"mediaType":"{image.media_type}","digest":"{image.digest}","size":{image.size}}},'
        '"annotations":{"org.opencontainers.image.created":"2026-11-28T13:52:22Z"}}'
    ).encode()


def push_repository(client: RegistryClient, repository: str, text: str = PHRASE) -> Repository:
    built = program_image(text.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    result = client.push_image(repository, built, "amy")
    image = Pushed("amy", str(result.digest), media.OCI_MANIFEST, len(built.manifest_bytes))
    signature_raw = cosign_signature(client, repository, image)
    sidecar = f"{image.digest.replace(':', '-')}.sig"
    signature = _manifest(client, repository, sidecar, signature_raw, media.OCI_MANIFEST)
    signature_copy = _manifest(client, repository, "mallory", signature_raw, media.OCI_MANIFEST)
    sbom = _manifest(client, repository, "bob", spdx_referrer(client, repository, image), media.OCI_MANIFEST)
    return Repository(image, signature, signature_copy, sbom)


def make_contest(db: Database, watched: str, name: str = "t") -> Contest:
    return create_contest(
        db, name=name, phrase=PHRASE, repository=watched, limits={"runs": 1, "per_entrant_per_hour": 0}
    )


@pytest.fixture
def contest(db: Database, registry_open: DistributionRegistry, request: pytest.FixtureRequest) -> Contest:
    return make_contest(db, f"{registry_open.host}/n{abs(hash(request.node.nodeid)) % 10**8}")


def not_entry_logs(caplog: pytest.LogCaptureFixture, pushed: Pushed) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == INTAKE_LOG and f":{pushed.tag} → {pushed.digest}: not an entry" in r.getMessage()
    ]


def check_only_the_image(db: Database, contest: Contest, repo: Repository, via: str) -> None:
    """One submission (the image), one job (its judging); the rest remembered as seen."""
    submissions = db.run(lambda tx: q.submissions(tx, contest.id), write=False)
    assert [(s.tag, str(s.digest), s.entrant, s.via) for s in submissions] == [
        ("amy", repo.image.digest, "amy", via)
    ]
    assert db.run(lambda tx: q.queue_counts(tx, contest.id), write=False) == {"queued": 1, "running": 0}
    events = db.run(lambda tx: q.events(tx, contest.id), write=False)
    assert [e.kind for e in events] == ["contest_created", "submitted"]
    heads = db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)
    assert heads == {p.tag: p.digest for p in repo.everything}


def test_the_poller_submits_the_image_and_remembers_the_rest_as_seen(
    db: Database, contest: Contest, client: RegistryClient, caplog: pytest.LogCaptureFixture
) -> None:
    repo = push_repository(client, contest.repository)
    with caplog.at_level(logging.DEBUG, logger=INTAKE_LOG):
        first = poll_once(db, contest, client)
        later = [poll_once(db, contest, client) for _ in range(3)]
    by_tag = {i.tag: i for i in first}
    assert set(by_tag) == {p.tag for p in repo.everything}
    assert by_tag["amy"].note == "queued" and by_tag["amy"].submission_id is not None
    for pushed in repo.others:
        intake = by_tag[pushed.tag]
        assert (intake.submission_id, intake.entrant) == (None, None)
        assert intake.note.startswith("not an entry: "), intake.note
    assert "cosign's signature tag of" in by_tag[repo.signature.tag].note
    assert "simplesigning" in by_tag["mallory"].note
    assert "OCI referrer (application/spdx+json)" in by_tag["bob"].note
    assert later == [[], [], []]  # nothing new: neither logged nor read again
    for pushed in repo.others:
        assert len(not_entry_logs(caplog, pushed)) == 1, pushed
    check_only_the_image(db, contest, repo, "poll")


def test_later_polls_do_not_read_the_manifests_again(
    db: Database, contest: Contest, client: RegistryClient
) -> None:
    repo = push_repository(client, contest.repository)
    poll_once(db, contest, client)
    reads: list[str] = []
    original = client.get_manifest

    def counting(repository: str, reference: str, *, size: int | None = None) -> tuple[bytes, str]:
        reads.append(reference)
        return original(repository, reference, size=size)

    client.get_manifest = counting  # type: ignore[method-assign]
    try:
        for _ in range(3):
            assert poll_once(db, contest, client) == []
    finally:
        del client.get_manifest
    assert reads == []
    check_only_the_image(db, contest, repo, "poll")


def hook_envelope(registry: str, repository: str, pushed: tuple[Pushed, ...]) -> bytes:
    """What distribution 2.8 POSTs for tagged manifest pushes (as tests/web/data/registry_*.json)."""
    path = repository.split("/", 1)[1]
    events = [
        {
            "id": f"event-{n}",
            "timestamp": "2026-11-28T13:52:22.05377109Z",
            "action": "push",
            "target": {
                "mediaType": p.media_type,
                "size": p.size,
                "digest": p.digest,
                "length": p.size,
                "repository": path,
                "url": f"http://{registry}/v2/{path}/manifests/{p.digest}",
                "tag": p.tag,
            },
            "request": {"id": f"r{n}", "addr": "127.0.0.1:1", "host": registry, "method": "PUT"},
            "actor": {},
            "source": {"addr": "vm:1", "instanceID": "i"},
        }
        for n, p in enumerate(pushed)
    ]
    return json.dumps({"events": events}).encode()


EVENTS = {"Content-Type": "application/vnd.docker.distribution.events.v1+json"}


def test_the_hook_submits_the_image_and_remembers_the_rest_as_seen(
    db: Database, contest: Contest, client: RegistryClient, caplog: pytest.LogCaptureFixture
) -> None:
    repo = push_repository(client, contest.repository)
    body = hook_envelope(client.registry, contest.watched, repo.everything)
    app = create_app(db, contest.name, registry=client)  # the hook reads manifests with it
    with caplog.at_level(logging.DEBUG, logger=INTAKE_LOG), TestClient(app) as web:
        answer = web.post("/hooks/registry", content=body, headers=EVENTS)
        assert answer.status_code == 202, answer.text
        again = web.post("/hooks/registry", content=body, headers=EVENTS)  # distribution re-sends
        assert again.status_code == 202, again.text
        polled = [poll_once(db, contest, client) for _ in range(3)]  # the poller, after the hook
    pushes = {p["tag"]: p for p in answer.json()["pushes"]}
    assert pushes["amy"]["note"] == "queued" and pushes["amy"]["entrant"] == "amy"
    for pushed in repo.others:
        assert pushes[pushed.tag]["submission"] is None and pushes[pushed.tag]["entrant"] is None
        assert pushes[pushed.tag]["note"].startswith("not an entry: ")
    repeated = {p["tag"]: p["note"] for p in again.json()["pushes"]}
    assert repeated == {
        "amy": "already submitted",
        **{p.tag: "not an entry: already seen" for p in repo.others},
    }
    assert polled == [[], [], []]
    for pushed in repo.others:
        assert len(not_entry_logs(caplog, pushed)) == 1, pushed
    check_only_the_image(db, contest, repo, "hook")


def test_the_hook_after_the_poller_neither_submits_nor_logs_again(
    db: Database, contest: Contest, client: RegistryClient, caplog: pytest.LogCaptureFixture
) -> None:
    repo = push_repository(client, contest.repository)
    with caplog.at_level(logging.INFO, logger=INTAKE_LOG):
        poll_once(db, contest, client)
        for pushed in repo.others:
            intake = record_push(db, contest, pushed.tag, pushed.digest, via="hook")
            assert intake.note == "not an entry: already seen"
    for pushed in repo.others:
        assert len(not_entry_logs(caplog, pushed)) == 1
    check_only_the_image(db, contest, repo, "poll")


def test_a_real_registry_s_notifications_submit_only_the_image(db: Database) -> None:
    app = create_app(db, hook_token=HOOK_TOKEN)
    server = serve_in_thread(app)
    registry = NotifyingRegistry(f"{server.url}/hooks/registry")
    try:
        registry.start()
        # The registry's address is known only now; the served app reads manifests through it.
        app.state.site.registry = open_registry(registry.host)
        contest = make_contest(db, f"{registry.host}/contest")
        with open_registry(registry.host) as own:
            repo = push_repository(own, contest.repository)

        def heads() -> dict[str, str]:
            return db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)

        deadline = time.monotonic() + 20
        while len(heads()) < len(repo.everything) and time.monotonic() < deadline:
            time.sleep(0.1)
        submissions = httpx.get(f"{server.url}/api/submissions").json()["submissions"]
        assert [(s["tag"], s["via"], s["status"]) for s in submissions] == [("amy", "hook", "QUEUED")]
        with open_registry(registry.host) as own:
            assert poll_once(db, contest, own) == []  # the hook saw them all
        check_only_the_image(db, contest, repo, "hook")
    finally:
        registry.stop()
        server.stop()
        if app.state.site.registry is not None:
            app.state.site.registry.close()


def test_a_tag_moved_from_an_artifact_to_an_image_is_a_submission(
    db: Database, contest: Contest, client: RegistryClient
) -> None:
    repo = push_repository(client, contest.repository)
    poll_once(db, contest, client)
    built = program_image(b"hello IDBS engineering!\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    moved = str(client.push_image(contest.repository, built, "bob").digest)  # bob was the SBOM
    [intake] = poll_once(db, contest, client)
    assert (intake.tag, intake.digest, intake.note) == ("bob", moved, "queued")
    # … and back to the SBOM: seen before as this tag's head? No — the head moved: read again.
    client.put_manifest(
        contest.repository, "bob", spdx_referrer(client, contest.repository, repo.image), media.OCI_MANIFEST
    )
    [back] = poll_once(db, contest, client)
    assert back.digest == repo.sbom.digest and back.note.startswith("not an entry: an OCI referrer")
    assert len(db.run(lambda tx: q.submissions(tx, contest.id), write=False)) == 2


def test_a_buildx_index_with_an_attestation_is_still_a_submission(
    db: Database, contest: Contest, client: RegistryClient
) -> None:
    built = program_image(PHRASE.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    image = client.push_image(contest.repository, built, None)
    statement = b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document"}'
    statement_digest = _blob(client, contest.repository, statement)
    config = (
        b'{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}'
        % (statement_digest.encode())
    )
    config_digest = _blob(client, contest.repository, config)
    attestation_raw = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}",'
        f'"size":{len(config)}}},"layers":[{{"mediaType":"application/vnd.in-toto+json",'
        f'"digest":"{statement_digest}","size":{len(statement)},'
        '"annotations":{"in-toto.io/predicate-type":"https://spdx.dev/Document"}}]}'
    ).encode()
    attestation = client.put_manifest(
        contest.repository, str(Digest.of(attestation_raw)), attestation_raw, media.OCI_MANIFEST
    )
    index = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
        f'{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{image.digest}",'
        f'"size":{len(built.manifest_bytes)},"platform":{{"architecture":"{DEFAULT.architecture}",'
        f'"os":"{DEFAULT.os}"}}}},'
        f'{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{attestation}",'
        f'"size":{len(attestation_raw)},"annotations":{{"vnd.docker.reference.digest":"{image.digest}",'
        '"vnd.docker.reference.type":"attestation-manifest"},'
        '"platform":{"architecture":"unknown","os":"unknown"}}]}'
    ).encode()
    client.put_manifest(contest.repository, "eve", index, media.OCI_INDEX)
    [intake] = poll_once(db, contest, client)
    assert (intake.tag, intake.note) == ("eve", "queued")
    assert intake.submission_id is not None


def test_a_manifest_gone_before_it_was_read_is_not_recorded(
    db: Database, contest: Contest, client: RegistryClient
) -> None:
    missing = "sha256:" + "0" * 64
    intake = record_push(db, contest, "amy", missing, via="poll", registry=client)
    assert intake.submission_id is None and intake.note.startswith("gone from the registry")
    assert db.run(lambda tx: q.tag_heads(tx, contest.id), write=False) == {}  # looked at again next time


def test_without_a_registry_client_only_tag_names_are_told_apart(db: Database) -> None:
    # A web app served without a registry client cannot read manifests: the push is a submission
    # and the judge decides; a sidecar tag is still told apart by its name.
    contest = make_contest(db, f"127.0.0.1:{free_port()}/nobody-listens")
    sidecar = f"sha256-{'ab' * 32}.att"
    by_name = record_push(db, contest, sidecar, "sha256:" + "1" * 64, via="hook")
    unread = record_push(db, contest, "amy", "sha256:" + "2" * 64, via="hook")
    assert by_name.submission_id is None and "cosign's attestations tag" in by_name.note
    assert unread.note == "queued" and unread.submission_id is not None
