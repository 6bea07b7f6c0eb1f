"""The watcher at scale: one poll of a 1,000-tag repository on Debian's docker-registry.

    .venv/bin/python -m bench.watch_scale --write docs/benchmarks.md

Starts its own docker-registries on 127.0.0.1 (plain HTTP, and TLS) as tests/registry_services.py
does, pushes one tiny image and tags it 1,000 times, records every tag in a SQLite contest (the
first poll), then times polls where nothing changed — what every ``contest watch`` interval costs:
the poll as it was before (``poll_before``: one HEAD after another, each on a new connection),
and ``poll_once`` one HEAD at a time or ``workers`` at once, with and without ``If-None-Match``.
The same again through a relay that holds every request 10 ms before passing it on: a registry one
network round trip away, where the HEADs wait on the network rather than on the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform as host_platform
import socket
import socketserver
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from tests.registry_services import DistributionRegistry

from bench.report import replace_section
from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.contest import Contest, create_contest
from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.watch import DEFAULT_POLL_WORKERS, PollStats, poll_once
from imagegolf.db import Database, open_database
from imagegolf.db import queries as q
from imagegolf.platform import DEFAULT
from imagegolf.processes import LOOPBACK
from imagegolf.registry import RegistryClient, open_registry
from imagegolf.registry.protocol import MANIFEST_ACCEPT, pull_scope

SECTION = "## Watching 1,000 tags: one poll of `contest watch`"
REPOSITORY = "bench/idbs"
PHRASE = "hello IDBS engineering"
BEFORE = 0  # the ``workers`` of poll_before in the tables
AT_ONCE = DEFAULT_POLL_WORKERS
SETTINGS = ((BEFORE, False), (1, False), (1, True), (AT_ONCE, False), (AT_ONCE, True))


def poll_before(db: Database, contest: Contest, client: RegistryClient) -> list[Intake]:
    """``poll_once`` and ``head_manifest`` as they were at 2f05080: one unconditional HEAD after
    another, each response closed unread (which closes its connection: a new one per HEAD)."""
    tags = client.list_tags(contest.repository)
    known = db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)
    intakes: list[Intake] = []
    for tag in sorted(tags):

        def head(tag: str = tag) -> str:
            path = f"/v2/{contest.repository}/manifests/{tag}"
            scopes = pull_scope(contest.repository)
            response = client.request("HEAD", path, scopes=scopes, headers={"Accept": MANIFEST_ACCEPT})
            client.expect(response, {200}, f"find the manifest {contest.repository}:{tag}")
            return response.headers["Docker-Content-Digest"]

        digest = client.retrying(f"find the manifest {contest.repository}:{tag}", head)
        if str(known.get(tag)) != digest:
            intakes.append(record_push(db, contest, tag, digest, via="poll", registry=client))
    return intakes


class DelayRelay:
    """A TCP relay on 127.0.0.1 that holds each chunk a client sends ``delay_s`` before forwarding it."""

    def __init__(self, upstream: tuple[str, int], delay_s: float) -> None:
        relay = self
        self.connections = 0

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                relay.connections += 1
                with socket.create_connection(upstream) as server:
                    back = threading.Thread(target=relay.pipe, args=(server, self.request, 0.0), daemon=True)
                    back.start()
                    relay.pipe(self.request, server, delay_s)
                    back.join()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((LOOPBACK, 0), Handler)
        self.host = f"{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, target: socket.socket, delay_s: float) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if delay_s:
                    time.sleep(delay_s)
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def populate(client: RegistryClient, tags: int) -> float:
    """One image under ``tags`` tags; the seconds it took."""
    started = time.perf_counter()
    image = program_image(f"{PHRASE}\n".encode(), DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    digest = client.push_image(REPOSITORY, image, "golfer0000").digest
    raw, media_type = client.get_manifest(REPOSITORY, str(digest))
    for number in range(1, tags):
        client.put_manifest(REPOSITORY, f"golfer{number:04d}", raw, media_type)
    return time.perf_counter() - started


@dataclass
class Timing:
    network: str
    workers: int
    conditional: bool
    seconds: list[float] = field(default_factory=list)
    answers: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def answers(stats: PollStats) -> str:
    parts = [(stats.not_modified, "304"), (stats.unchanged, "200, digest known"), (stats.changed, "new")]
    return ", ".join(f"{what} ×{count}" for count, what in parts if count)


def steady_polls(
    db: Database, contest: Contest, client: RegistryClient, network: str, runs: int
) -> list[Timing]:
    """Each setting ``runs`` times, the settings interleaved (a noisy neighbour hits them alike)."""
    found = {setting: Timing(network, *setting) for setting in SETTINGS}
    for _ in range(runs):
        for (workers, conditional), timing in found.items():
            stats = PollStats()
            started = time.perf_counter()
            if workers == BEFORE:
                intakes = poll_before(db, contest, client)
                timing.answers = f"200, digest known ×{len(client.list_tags(REPOSITORY))}"
            else:
                intakes = poll_once(
                    db, contest, client, workers=workers, conditional=conditional, stats=stats
                )
                timing.answers = answers(stats)
            timing.seconds.append(time.perf_counter() - started)
            assert intakes == [], "nothing changed between these polls"
            line = f"{network:15} {setting_name(workers, conditional):32}"
            print(f"{line} {timing.seconds[-1]:6.2f} s", flush=True)
    return list(found.values())


def setting_name(workers: int, conditional: bool) -> str:
    if workers == BEFORE:
        return "before (new connection per HEAD)"
    return f"{workers} at once, If-None-Match {'yes' if conditional else 'no'}"


def first_polls(db: Database, registry: str, client: RegistryClient) -> list[tuple[int, float]]:
    """A new contest's first poll records all the tags (before; then one and the default at once)."""
    found = []
    for workers in (BEFORE, 1, AT_ONCE):
        contest = new_contest(db, registry, f"first-{workers}")
        started = time.perf_counter()
        if workers == BEFORE:
            recorded = poll_before(db, contest, client)
        else:
            recorded = poll_once(db, contest, client, workers=workers)
        found.append((workers, time.perf_counter() - started))
        assert len(recorded) == len(client.list_tags(REPOSITORY))
        print(f"first poll, {setting_name(workers, True)}: {found[-1][1]:.2f} s", flush=True)
    return found


def new_contest(db: Database, registry: str, name: str) -> Contest:
    return create_contest(db, name=name, phrase=PHRASE, repository=f"{registry}/{REPOSITORY}")


def list_seconds(client: RegistryClient, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.list_tags(REPOSITORY)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextlib.contextmanager
def registries(
    delay_ms: float,
) -> Iterator[list[tuple[str, DistributionRegistry, Callable[[], RegistryClient]]]]:
    """(name, registry, a client maker): plain HTTP, TLS, and plain HTTP behind the delaying relay."""
    plain, tls = DistributionRegistry("open"), DistributionRegistry("tls")
    relay: DelayRelay | None = None
    try:
        plain.start()
        tls.start()
        relay = DelayRelay((LOOPBACK, plain.port), delay_ms / 1000)
        far = relay.host
        yield [
            ("127.0.0.1", plain, lambda: open_registry(plain.host, env={})),
            ("127.0.0.1, TLS", tls, lambda: open_registry(tls.host, env={}, ca_bundle=tls.ca_bundle)),
            (f"+{delay_ms:g} ms", plain, lambda: open_registry(far, env={})),
        ]
    finally:
        if relay is not None:
            relay.stop()
        plain.stop()
        tls.stop()


def host_line(binary: str) -> str:
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({host_platform.machine()}), load average {load} at the end; "
        f"docker-registry {version[-1] if version else '?'} (filesystem storage); Python "
        f"{host_platform.python_version()}, requests {requests.__version__}"
    )


@dataclass
class Measured:
    tags: int
    runs: int
    delay_ms: float
    timings: list[Timing]
    first: list[tuple[int, float]]
    listing: float
    tagging: float
    host: str


def report(m: Measured) -> list[str]:
    table = [
        "| registry | poll | median (s) | min – max (s) | HEAD answers |",
        "|---|---|---:|---|---|",
    ]
    for t in m.timings:
        table.append(
            f"| {t.network} | {setting_name(t.workers, t.conditional)} | {t.median:.2f} | "
            f"{min(t.seconds):.2f} – {max(t.seconds):.2f} | {t.answers} |"
        )
    by = {(t.network, t.workers, t.conditional): t.median for t in m.timings}
    networks = list(dict.fromkeys(t.network for t in m.timings))
    gains = "; ".join(
        f"{n}: {by[(n, BEFORE, False)]:.2f} s → {by[(n, AT_ONCE, True)]:.2f} s "
        f"({by[(n, BEFORE, False)] / by[(n, AT_ONCE, True)]:.1f}×)"
        for n in networks
    )
    first = ", ".join(f"{setting_name(w, True).split(',')[0]} {s:.1f} s" for w, s in m.first)
    return [
        SECTION,
        "",
        f"Measured {datetime.date.today()} with `.venv/bin/python -m bench.watch_scale --write "
        f"docs/benchmarks.md`: {m.host}. One repository, {m.tags} tags of one image; a contest that "
        f"has recorded them all polls it again with nothing changed, {m.runs} times per setting (the "
        "settings interleaved, the median shown). *before*: the poll as it was (one HEAD after "
        "another, each closed unread, which closes its connection: a new TCP connection, and on TLS "
        "a new handshake, per tag). Now (`contest watch`): the HEADs keep their connections, "
        f'{AT_ONCE} run at once, each sends the known digest as `If-None-Match: "sha256:…"`. '
        f"*+{m.delay_ms:g} ms* is the plain registry behind a relay on 127.0.0.1 that holds each "
        "request that long: a registry one network round trip away.",
        "",
        *table,
        "",
        f"Before → now, against the 5 s default interval: {gains}. On loopback the HEADs wait on "
        "the CPU (the registry and the client share it), so running more at once gains less than the "
        "connections kept; a round trip away they wait on the network, and the round trips overlap. "
        "distribution 2.8 answers `If-None-Match` with 304 after resolving the tag and before reading "
        "the manifest (registry/handlers/manifests.go, `etagMatch`): a HEAD has no body either way, "
        "so a 304 saves the registry one manifest read and the client a few header lines — the round "
        "trip per tag remains, and the gain is within the noise here. The tag list has no validator "
        f"(no ETag, no Last-Modified; distribution 2.8 also ignores `n` and sends all {m.tags} tags in "
        f"one page): it is fetched whole every poll, {m.listing * 1000:.0f} ms of the plain poll.",
        "",
        f"The first poll of a new contest records all {m.tags} tags on the plain registry (a "
        "submission each, and the manifest read once per new digest to tell an image from an "
        f"artifact, in the recording thread): {first}. Tagging the {m.tags} (one push, then a "
        f"manifest PUT per tag) took {m.tagging:.1f} s.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="polls per setting (default 5)")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="the relay's hold per request")
    parser.add_argument("--write", type=Path, help="replace this section of the markdown file")
    args = parser.parse_args()
    timings: list[Timing] = []
    first: list[tuple[int, float]] = []
    listing = tagging = 0.0
    with (
        tempfile.TemporaryDirectory(prefix="igwatch-") as work,
        open_database(str(Path(work) / "contest.db")) as db,
        registries(args.delay_ms) as setups,
    ):
        contests: dict[str, Contest] = {}  # per registry: the relay's polls reuse the plain one's
        for network, registry, make in setups:
            with make() as client:
                if registry.host not in contests:
                    seconds = populate(client, args.tags)
                    print(f"{network}: tagged {args.tags} in {seconds:.1f} s", flush=True)
                    if not contests:
                        tagging, listing = seconds, list_seconds(client, args.runs)
                        first = first_polls(db, registry.host, client)
                    contests[registry.host] = new_contest(db, registry.host, f"steady {network}")
                    poll_once(db, contests[registry.host], client)
                timings += steady_polls(db, contests[registry.host], client, network, args.runs)
        host = host_line(setups[0][1].binary)
    text = report(Measured(args.tags, args.runs, args.delay_ms, timings, first, listing, tagging, host))
    print("\n".join(text))
    if args.write:
        replace_section(args.write, SECTION, text)


if __name__ == "__main__":
    main()
