"""The poller with a few hundred tags: concurrent HEADs, recorded in tag order, 304s for what did not move.

A real docker-registry (distribution 2.8) behind tests/registry_services.py's FaultProxy, which
counts the requests and injects failures; every test runs on SQLite and PostgreSQL (``db``).
The same tiny image is pushed once and tagged many times (only the manifest PUT differs).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.contest import Contest, create_contest
from imagegolf.contest.watch import MAX_POLL_WORKERS, PollStats, poll_once, watch
from imagegolf.db import Database
from imagegolf.db import queries as q
from imagegolf.errors import UsageError
from imagegolf.oci import Image
from imagegolf.platform import DEFAULT
from imagegolf.registry import RegistryClient, RegistryUnreachable, RetryPolicy, open_registry
from tests.registry_services import DistributionRegistry, Fault, FaultProxy, Seen

N = 300
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
WATCH_LOG = "imagegolf.contest.watch"


def image(text: str) -> Image:
    return program_image(text.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]


@dataclass(frozen=True)
class Tagged:
    repository: str  # the path in the registry
    tags: list[str]  # in tag (sorted) order
    digest: str  # what every tag names


def populate(client: RegistryClient, n: int = N) -> Tagged:
    """One image under ``n`` tags of a new repository (a push, then n-1 manifest PUTs)."""
    repository = f"scale/r{uuid.uuid4().hex[:12]}"
    tags = [f"golfer{i:03d}" for i in range(n)]
    digest = client.push_image(repository, image("hello IDBS engineering"), tags[0]).digest
    raw, media_type = client.get_manifest(repository, str(digest))
    for tag in tags[1:]:
        client.put_manifest(repository, tag, raw, media_type)
    return Tagged(repository, tags, str(digest))


@pytest.fixture(scope="module")
def many(registry_open: DistributionRegistry) -> Tagged:
    """A repository of N tags that the tests only read."""
    with open_registry(registry_open.host, env={}) as client:
        return populate(client)


@pytest.fixture
def proxy(registry_open: DistributionRegistry) -> Iterator[FaultProxy]:
    service = FaultProxy(registry_open.host)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def pusher(registry_open: DistributionRegistry) -> Iterator[RegistryClient]:
    """A client straight to the registry, for the pushes."""
    with open_registry(registry_open.host, env={}) as opened:
        yield opened


@pytest.fixture
def client(proxy: FaultProxy) -> Iterator[RegistryClient]:
    """The poller's client: through the counting proxy, fast retries."""
    with open_registry(proxy.host, env={}, retry=FAST) as opened:
        yield opened


def make_contest(db: Database, registry: DistributionRegistry, repository: str) -> Contest:
    return create_contest(
        db,
        name="scale",
        phrase="hello IDBS engineering",
        repository=f"{registry.host}/{repository}",
        limits={"runs": 1, "per_entrant_per_hour": 0},
    )


def submitted(db: Database, contest: Contest) -> list[tuple[str, str]]:
    """(tag, digest) of every submission, in the order they were recorded."""
    rows = db.run(lambda tx: q.submissions(tx, contest.id), write=False)
    return [(s.tag, str(s.digest)) for s in sorted(rows, key=lambda s: s.id)]


def heads(proxy: FaultProxy, since: int) -> list[Seen]:
    return [s for s in proxy.seen[since:] if s.method == "HEAD" and "/manifests/" in s.path]


def manifest_gets(proxy: FaultProxy, since: int) -> list[Seen]:
    return [s for s in proxy.seen[since:] if s.method == "GET" and "/manifests/" in s.path]


def test_one_poll_records_every_tag_once_in_tag_order_and_the_next_gets_only_304s(
    db: Database, registry_open: DistributionRegistry, many: Tagged, proxy: FaultProxy, client: RegistryClient
) -> None:
    contest = make_contest(db, registry_open, many.repository)
    first = PollStats()
    intakes = poll_once(db, contest, client, stats=first)
    assert [i.tag for i in intakes] == many.tags
    assert {i.note for i in intakes} == {"queued"}
    assert submitted(db, contest) == [(tag, many.digest) for tag in many.tags]  # once each, in tag order
    assert (first.tags, first.changed, first.not_modified) == (N, N, 0)

    mark, again = len(proxy.seen), PollStats()
    assert poll_once(db, contest, client, stats=again) == []
    assert [s.status for s in heads(proxy, mark)] == [304] * N  # asked with If-None-Match: no digest sent
    assert manifest_gets(proxy, mark) == []
    assert (again.not_modified, again.unchanged, again.changed) == (N, 0, 0)

    mark, plain = len(proxy.seen), PollStats()  # the poll as it was: one by one, unconditional
    assert poll_once(db, contest, client, workers=1, conditional=False, stats=plain) == []
    assert [s.status for s in heads(proxy, mark)] == [200] * N
    assert (plain.not_modified, plain.unchanged, plain.changed) == (0, N, 0)
    assert submitted(db, contest) == [(tag, many.digest) for tag in many.tags]


def test_a_moved_tag_among_many_is_picked_up(
    db: Database,
    registry_open: DistributionRegistry,
    proxy: FaultProxy,
    client: RegistryClient,
    pusher: RegistryClient,
) -> None:
    tagged = populate(pusher)
    contest = make_contest(db, registry_open, tagged.repository)
    poll_once(db, contest, client)
    moved = [tagged.tags[250], tagged.tags[37]]
    new = [str(pusher.push_image(tagged.repository, image(f"v2 of {tag}"), tag).digest) for tag in moved]
    mark = len(proxy.seen)
    intakes = poll_once(db, contest, client)
    assert [(i.tag, i.digest, i.note) for i in intakes] == [
        (moved[1], new[1], "queued"),  # tag order, not push order
        (moved[0], new[0], "queued"),
    ]
    statuses = {s.path.rsplit("/", 1)[1]: s.status for s in heads(proxy, mark)}
    assert statuses == {tag: 200 if tag in moved else 304 for tag in tagged.tags}
    assert poll_once(db, contest, client) == []
    assert submitted(db, contest)[-2:] == [(moved[1], new[1]), (moved[0], new[0])]


def test_a_failed_head_ends_the_poll_there_and_the_next_polls_record_the_rest(
    db: Database, registry_open: DistributionRegistry, many: Tagged, proxy: FaultProxy, client: RegistryClient
) -> None:
    contest = make_contest(db, registry_open, many.repository)
    failing, gone = many.tags[100], many.tags[200]
    proxy.add(Fault("HEAD", rf"/manifests/{failing}$", "status", 500, times=FAST.attempts))
    seen: list[str] = []
    with pytest.raises(RegistryUnreachable, match=f"find the manifest {many.repository}:{failing}"):
        poll_once(db, contest, client, on_intake=lambda i: seen.append(i.tag))
    assert seen == many.tags[:100]  # recorded up to the failed HEAD, as one by one
    assert [tag for tag, _ in submitted(db, contest)] == many.tags[:100]

    proxy.add(Fault("HEAD", rf"/manifests/{gone}$", "status", 404, times=1))
    second = poll_once(db, contest, client)  # the failed one answers; the 404 is a tag deleted meanwhile
    assert [i.tag for i in second] == [tag for tag in many.tags[100:] if tag != gone]
    assert [i.tag for i in poll_once(db, contest, client)] == [gone]
    assert poll_once(db, contest, client) == []
    recorded = [tag for tag, _ in submitted(db, contest)]
    assert sorted(recorded) == many.tags and len(set(recorded)) == N  # nothing lost, nothing twice


def test_watch_logs_a_failing_poll_once_and_records_everything_when_it_answers_again(
    db: Database,
    registry_open: DistributionRegistry,
    many: Tagged,
    proxy: FaultProxy,
    client: RegistryClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    contest = make_contest(db, registry_open, many.repository)
    proxy.add(Fault("HEAD", rf"/manifests/{many.tags[10]}$", "status", 503, times=2 * FAST.attempts))
    stop, intakes = threading.Event(), []
    thread = threading.Thread(
        target=watch,
        args=(db, contest, client),
        kwargs={"interval_s": 0.05, "stop": stop, "on_intake": intakes.append},
    )
    with caplog.at_level(logging.WARNING, logger=WATCH_LOG):
        thread.start()
        try:
            deadline = time.monotonic() + 120
            while len(submitted(db, contest)) < N and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(timeout=60)
    assert [i.tag for i in intakes] == many.tags
    assert submitted(db, contest) == [(tag, many.digest) for tag in many.tags]
    messages = [r.getMessage() for r in caplog.records if r.name == WATCH_LOG]
    assert len([m for m in messages if m.startswith("cannot poll")]) == 1, messages
    assert len([m for m in messages if "answers again" in m]) == 1, messages


def test_a_token_registry_s_pull_token_is_fetched_once_for_all_the_workers(
    db: Database, registry_token: DistributionRegistry
) -> None:
    with open_registry(registry_token.host, **registry_token.open_kwargs()) as pusher:
        tagged = populate(pusher, 120)
    issuer = registry_token.issuer
    assert issuer is not None
    contest = make_contest(db, registry_token, tagged.repository)
    with open_registry(registry_token.host, **registry_token.open_kwargs()) as poller:
        mark = len(issuer.requests)
        assert [i.tag for i in poll_once(db, contest, poller, workers=MAX_POLL_WORKERS)] == tagged.tags
        assert poll_once(db, contest, poller, workers=MAX_POLL_WORKERS) == []
        assert [r["scopes"] for r in issuer.requests[mark:]] == [[f"repository:{tagged.repository}:pull"]]


@pytest.mark.parametrize("workers", [0, MAX_POLL_WORKERS + 1])
def test_the_number_of_poll_workers_is_bounded(
    db: Database, registry_open: DistributionRegistry, client: RegistryClient, workers: int
) -> None:
    contest = make_contest(db, registry_open, "scale/none")
    with pytest.raises(UsageError, match="poll workers"):
        poll_once(db, contest, client, workers=workers)
