"""Reliability: the contest's job queue judges every submission exactly once, under failures.

.venv/bin/python -m bench.reliability [--n 1000] [--write docs/reliability.md]      (`make bench` runs it)

Four scenarios, each on SQLite (a file) and on PostgreSQL (a fresh database of a server started
here, as tests/db_services.py does): N submissions of tiny images pushed to a real docker-registry
on 127.0.0.1 are queued, and judged by real `imagegolf contest worker` processes on one podman
service (a private store), while the scenario breaks things:

- plain: two workers (`--until-idle`), nothing breaks;
- kill: a worker holding a job is SIGKILLed (its process group), `--lease 3`; a new one replaces it;
- database: PostgreSQL is restarted (fast shutdown), later crashed (SIGKILL) and started again;
  on SQLite, another process holds the file's write lock for a few seconds;
- registry: the docker-registry process is stopped for a while, then started on the same storage.

What is checked comes from the database alone: the ``judged`` events per submission (exactly one),
the job states (all ``done``), each verdict against the one the image was built to earn. The same
functions run at CI size in tests/contest/test_reliability.py.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform as host_platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.db_services import Postgres
from tests.registry_services import DistributionRegistry

from imagegolf import elf, oci
from imagegolf.contest import Contest, create_contest, record_push, snapshot
from imagegolf.db import Database, Transaction, open_database
from imagegolf.engine.podman_service import runtime_flags
from imagegolf.oci.tar_entry import CHAR_DEVICE, TarEntry
from imagegolf.platform import LINUX_386
from imagegolf.processes import stop_process
from imagegolf.registry import RegistryClient, open_registry

ROOT = Path(__file__).resolve().parent.parent
IMAGEGOLF = str(ROOT / ".venv" / "bin" / "imagegolf")
PHRASE = "hello IDBS engineering"
REPOSITORY = "reliability/golf"
SCENARIOS = ("plain", "kill", "database", "registry")
DIALECTS = ("sqlite", "postgresql")
LIMITS = {"runs": 1, "per_entrant_per_hour": 0, "timeout_s": 10.0}
# One block of 20 submissions: 13 distinct images that print the phrase, 3 that print something
# else, 2 second tags of an earlier image (judged once, the verdict reused), one whose Cmd names a
# file the image lacks, one with a device node (refused before anything runs).
MIX = ("accepted",) * 13 + ("wrong",) * 3 + ("duplicate",) * 2 + ("start_failed", "rejected")
EXPECTED = {
    "accepted": "ACCEPTED",
    "wrong": "WRONG_OUTPUT",
    "duplicate": "ACCEPTED",
    "start_failed": "START_FAILED",
    "rejected": "REJECTED_IMAGE",
}


def log(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# -- the engine: one podman service on a private store, shared by every worker ------------------


class SharedPodman:
    """``podman system service`` on a store of its own under /tmp; workers reach it by DOCKER_HOST.

    One service for all workers (imagegolf would otherwise start one per worker process), and a
    store of its own: what a SIGKILLed worker leaves behind (a container, an image tag) is ours to
    remove, never another user's.
    """

    def __init__(self) -> None:
        podman = shutil.which("podman")
        if not podman:
            raise RuntimeError("podman is not installed: run `scripts/setup.sh`")
        self.dir = tempfile.mkdtemp(prefix="igrel-podman-", dir="/tmp")
        self.socket = os.path.join(self.dir, "podman.sock")
        self.url = f"unix://{self.socket}"
        self.flags = [
            "--root", f"{self.dir}/root", "--runroot", f"{self.dir}/run", "--storage-driver", "overlay",
            *runtime_flags(),
        ]  # fmt: skip
        self.command = [podman, *self.flags]
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0

    def start(self) -> SharedPodman:
        import docker

        started = time.monotonic()
        with open(os.path.join(self.dir, "service.log"), "wb") as out:
            self.proc = subprocess.Popen(
                [*self.command, "system", "service", "--time=0", self.url],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            if os.path.exists(self.socket):
                try:
                    client = docker.DockerClient(base_url=self.url, timeout=10)
                    client.ping()
                    client.close()
                    break
                except Exception:
                    pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = Path(self.dir, "service.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"podman system service did not start: {tail}")
            time.sleep(0.05)
        self.start_s = time.monotonic() - started
        return self

    def version(self) -> str:
        import docker

        client = docker.DockerClient(base_url=self.url, timeout=10)
        try:
            return f"podman {client.version().get('Version', '?')}"
        finally:
            client.close()

    def clean(self) -> tuple[int, int]:
        """Remove every container and image in this store; return how many there were."""
        import docker

        client = docker.DockerClient(base_url=self.url, timeout=60)
        try:
            containers = client.api.containers(all=True)
            for container in containers:
                with contextlib.suppress(Exception):
                    client.api.remove_container(container["Id"], force=True, v=True)
            images = client.api.images()
            for image in images:
                with contextlib.suppress(Exception):
                    client.api.remove_image(image["Id"], force=True)
            return len(containers), len(images)
        finally:
            client.close()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                self.clean()
            stop_process(proc, timeout=15)
        for mount in self.mounts():  # the overlay driver bind-mounts root/overlay onto itself
            subprocess.run(["umount", "-R", mount], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def mounts(self) -> list[str]:
        """Mount points under this store's directory, deepest first."""
        found = []
        with open("/proc/self/mountinfo") as table:
            for line in table:
                point = line.split()[4].replace("\\040", " ")
                if point == self.dir or point.startswith(self.dir + "/"):
                    found.append(point)
        return sorted(found, key=len, reverse=True)


@dataclass
class Services:
    """What every scenario uses: the registry, the engine, PostgreSQL (if any), a work directory."""

    registry: DistributionRegistry
    podman: SharedPodman
    postgres: Postgres | None
    workdir: Path

    def new_database(self, dialect: str, label: str) -> str:
        if dialect == "sqlite":
            return str(self.workdir / f"{label}.db")
        if self.postgres is None:
            raise RuntimeError("no PostgreSQL server was started")
        return self.postgres.new_database()

    def client(self) -> RegistryClient:
        return open_registry(self.registry.host, env={})


# -- the submissions: tiny images built in-process, pushed to the registry ------------------------


@dataclass(frozen=True)
class Entry:
    tag: str
    digest: str
    kind: str  # accepted | wrong | duplicate | start_failed | rejected
    expected: str  # the judge's verdict for it


def _image(index: int, kind: str) -> oci.Image:
    if kind == "accepted":
        return oci.build_record_image(
            elf.build_program(f"{PHRASE} #{index}\n".encode(), LINUX_386), LINUX_386
        )
    if kind == "wrong":
        return oci.build_record_image(elf.build_program(f"goodbye #{index}\n".encode(), LINUX_386), LINUX_386)
    program = TarEntry.file("a", elf.build_program(f"entry #{index}\n".encode(), LINUX_386), 0o111)
    if kind == "start_failed":  # Cmd names a file that is not in the image
        return oci.build_image([program], LINUX_386, cmd=["/missing"])
    if kind == "rejected":  # a device node: refused by the judge's screening, nothing runs
        return oci.build_image([program, TarEntry("dev/null", CHAR_DEVICE, 0, 0o666)], LINUX_386, cmd=["/a"])
    raise ValueError(kind)


def push_entries(client: RegistryClient, n: int) -> list[Entry]:
    """N submissions: distinct tags ``e00000``…, the MIX of kinds, pushed to REPOSITORY."""
    entries: list[Entry] = []
    images: dict[int, oci.Image] = {}
    for index in range(n):
        kind = MIX[index % len(MIX)]
        tag = f"e{index:05d}"
        if kind == "duplicate":  # the image of an earlier accepted entry, under this entry's tag
            block, slot = divmod(index, len(MIX))
            image = images[block * len(MIX) + 2 * (slot - MIX.index("duplicate"))]
        else:
            image = images[index] = _image(index, kind)
        result = client.push_image(REPOSITORY, image, tag)
        entries.append(Entry(tag, str(result.digest), kind, EXPECTED[kind]))
    return entries


# -- worker processes ---------------------------------------------------------------------------


class WorkerProcess:
    """``imagegolf contest worker`` in its own process group, its output in files."""

    def __init__(
        self, label: str, url: str, engine_url: str, logdir: Path, *, lease: float, until_idle: bool
    ) -> None:
        self.label = label
        self.out = logdir / f"{label}.out"
        self.err = logdir / f"{label}.err"
        cmd = [IMAGEGOLF, "contest", "worker", "--db", url, "--lease", f"{lease:g}"]
        if until_idle:
            cmd.append("--until-idle")
        env = {k: v for k, v in os.environ.items() if k not in ("IMAGEGOLF_DB", "DOCKER_HOST")}
        env["DOCKER_HOST"] = engine_url
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=logdir,
                start_new_session=True,
            )  # fmt: skip
        self.pid = self.proc.pid
        self.prefix = f"{socket.gethostname()}:{self.pid}:"  # its worker names: worker_name()
        self.killed = False
        self._kept: dict[Path, str] = {}

    def owns(self, name: str | None) -> bool:
        return bool(name) and str(name).startswith(self.prefix)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no handler runs, nothing is given back."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.killed = True

    def terminate(self, timeout: float = 60) -> None:
        """SIGTERM (the worker finishes its current job and exits), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def stdout(self) -> str:
        return self._read(self.out)

    def stderr(self) -> str:
        return self._read(self.err)

    def _read(self, path: Path) -> str:
        """The file's text; kept once the process has exited (the work directory may go first)."""
        if path in self._kept:
            return self._kept[path]
        text = path.read_text(errors="replace")
        if self.proc.poll() is not None:
            self._kept[path] = text
        return text

    def keep_output(self) -> None:
        self.stdout()
        self.stderr()


# -- facts, read from the database --------------------------------------------------------------


@dataclass
class Facts:
    submissions: int
    judged_histogram: Counter[int]  # judged events per submission → how many submissions
    job_states: Counter[str]
    verdicts: Counter[str]
    mismatches: list[str]  # submissions whose verdict is not the one their image was built to earn
    reused: int  # judged events that reuse an earlier judgement of the same digest
    by_actor: Counter[str]  # judged events per worker name
    lease_expiries: int  # claims beyond the first that were not pull retries
    pull_failed: int
    retried_submissions: set[int]
    judged_events: dict[int, list[dict[str, Any]]]  # submission → its judged events (actor, data)
    jobs: dict[int, dict[str, Any]]  # job id → row


def read_facts(db: Database, contest_id: int, entries: list[Entry]) -> Facts:
    expected = {e.tag: e.expected for e in entries}

    def read(tx: Transaction) -> Facts:
        subs = tx.query("SELECT id, tag FROM submissions WHERE contest_id = ?", (contest_id,))
        jobs = tx.query(
            "SELECT j.id, j.submission_id, j.state, j.attempts, j.lease_owner FROM jobs j "
            "JOIN submissions s ON s.id = j.submission_id WHERE s.contest_id = ?",
            (contest_id,),
        )
        events = tx.query(
            "SELECT id, kind, submission_id, actor, data FROM events WHERE contest_id = ? "
            "AND kind IN ('judged', 'rejudged', 'pull_failed') ORDER BY id",
            (contest_id,),
        )
        judged: dict[int, list[dict[str, Any]]] = {int(s["id"]): [] for s in subs}
        retries: Counter[int] = Counter()
        retried: set[int] = set()
        for event in events:
            data = json.loads(event["data"])
            if event["kind"] == "pull_failed":
                retries[int(data["job"])] += 1
                retried.add(int(event["submission_id"]))
            elif event["kind"] == "judged":
                judged[int(event["submission_id"])].append({"actor": event["actor"], **data})
        mismatches = []
        verdicts: Counter[str] = Counter()
        for sub in subs:
            got = judged[int(sub["id"])]
            if got:
                verdicts[str(got[-1]["verdict"])] += 1
                if got[-1]["verdict"] != expected.get(sub["tag"]):
                    mismatches.append(
                        f"#{sub['id']} {sub['tag']}: {got[-1]['verdict']} "
                        f"(expected {expected.get(sub['tag'])}): {got[-1].get('reason')}"
                    )
        flat = [e for events_of in judged.values() for e in events_of]
        return Facts(
            submissions=len(subs),
            judged_histogram=Counter(len(v) for v in judged.values()),
            job_states=Counter(str(j["state"]) for j in jobs),
            verdicts=verdicts,
            mismatches=mismatches,
            reused=sum(1 for e in flat if "reused_from" in e),
            by_actor=Counter(str(e["actor"]) for e in flat),
            lease_expiries=sum(max(int(j["attempts"]) - 1 - retries[int(j["id"])], 0) for j in jobs),
            pull_failed=sum(retries.values()),
            retried_submissions=retried,
            judged_events=judged,
            jobs={int(j["id"]): dict(j) for j in jobs},
        )

    return db.run(read, write=False)


@dataclass
class Kill:
    victim: str  # worker label
    job: int | None  # the job it held when killed (None: it held none)
    submission: int | None
    attempt: int | None
    reclaimed_by: str | None = None  # the label of the worker whose judged event counts
    final_attempt: int | None = None


@dataclass
class Result:
    scenario: str
    dialect: str
    n: int
    url: str
    contest_id: int
    wall_s: float
    facts: Facts
    workers: list[WorkerProcess]
    kills: list[Kill] = field(default_factory=list)
    disruptions: list[str] = field(default_factory=list)
    retrying_seen: int = 0  # submissions seen with status RETRYING while the registry was down
    leftovers: tuple[int, int] = (0, 0)  # containers, images removed from the engine afterwards

    def label_of(self, name: str) -> str:
        return next((w.label for w in self.workers if w.owns(name)), name)

    @property
    def share(self) -> dict[str, int]:
        share: Counter[str] = Counter()
        for actor, count in self.facts.by_actor.items():
            share[self.label_of(actor)] += count
        return {w.label: share.get(w.label, 0) for w in self.workers}

    def _count(self, pattern: str, stream: str) -> int:
        found = 0
        for worker in self.workers:
            text = worker.stdout() if stream == "out" else worker.stderr()
            found += len(re.findall(pattern, text, re.MULTILINE))
        return found

    @property
    def db_retries(self) -> int:
        """Transactions retried on a fresh connection (Database.run's warnings in the workers' logs)."""
        return self._count(r"^imagegolf: database: ", "err")  # one line starts each warning

    @property
    def lost_results(self) -> int:
        """Judgements a worker finished after losing its lease: discarded (finish_job refused)."""
        return self._count(r"lease lost", "out")

    def problems(self) -> list[str]:
        """Every violated guarantee, in words; empty when the run proves exactly-once."""
        f = self.facts
        found = []
        if f.submissions != self.n:
            found.append(f"{f.submissions} submissions recorded, not {self.n}")
        if set(f.judged_histogram) != {1}:
            found.append(f"judged events per submission: {dict(f.judged_histogram)} (must all be 1)")
        if set(f.job_states) != {"done"}:
            found.append(f"job states: {dict(f.job_states)} (must all be done)")
        if f.mismatches:
            found.append(f"{len(f.mismatches)} wrong verdicts, e.g. {f.mismatches[0]}")
        for kill in self.kills:
            if kill.job is None:
                continue
            if kill.reclaimed_by is None or kill.reclaimed_by == kill.victim:
                found.append(
                    f"job {kill.job} held by the killed {kill.victim} was not finished by another worker"
                )
        return found


# -- a trial: one scenario on one fresh database -------------------------------------------------


class Trial:
    """A fresh database with one contest and N queued submissions; the worker processes on it."""

    def __init__(
        self, services: Services, dialect: str, scenario: str, entries: list[Entry], *, lease: float
    ) -> None:
        self.services = services
        self.dialect = dialect
        self.scenario = scenario
        self.entries = entries
        self.lease = lease
        self.url = services.new_database(dialect, f"{scenario}-{dialect}")
        self.logdir = services.workdir / f"{scenario}-{dialect}-logs"
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.db = open_database(self.url, retry_s=180.0)
        self.contest: Contest = create_contest(
            self.db,
            name="reliability",
            phrase=PHRASE,
            repository=f"{services.registry.host}/{REPOSITORY}",
            limits=dict(LIMITS),
        )
        for entry in entries:
            record_push(self.db, self.contest, entry.tag, entry.digest, via="poll")
        self.workers: list[WorkerProcess] = []
        self.kills: list[Kill] = []
        self.disruptions: list[str] = []
        self.retrying_seen = 0
        self.started = 0.0

    def spawn(self, *, until_idle: bool = False) -> WorkerProcess:
        worker = WorkerProcess(
            f"w{len(self.workers) + 1}",
            self.url,
            self.services.podman.url,
            self.logdir,
            lease=self.lease,
            until_idle=until_idle,
        )
        self.workers.append(worker)
        if not self.started:
            self.started = time.monotonic()
        return worker

    def done(self) -> int:
        rows = self.db.run(
            lambda tx: tx.query(
                "SELECT COUNT(*) AS n FROM jobs j JOIN submissions s ON s.id = j.submission_id "
                "WHERE s.contest_id = ? AND j.state = 'done'",
                (self.contest.id,),
            ),
            write=False,
        )
        return int(rows[0]["n"])

    def wait_done(self, at_least: int, timeout: float | None = None) -> None:
        """Until ``at_least`` jobs are done; fails, with the workers' logs, on timeout or with no worker."""
        deadline = time.monotonic() + (timeout or 120 + 2.0 * len(self.entries))
        while True:
            done = self.done()
            if done >= at_least:
                return
            if time.monotonic() > deadline or not any(w.alive() for w in self.workers):
                tails = "\n".join(
                    f"--- {w.label} (rc {w.proc.poll()}):\n{w.stderr()[-1500:]}" for w in self.workers
                )
                raise RuntimeError(
                    f"{self.scenario}/{self.dialect}: {done} of {len(self.entries)} jobs done, "
                    f"waiting for {at_least}\n{tails}"
                )
            time.sleep(0.1)

    def running_jobs(self) -> list[dict[str, Any]]:
        return self.db.run(
            lambda tx: tx.query(
                "SELECT id, submission_id, attempts, lease_owner FROM jobs WHERE state = 'running'"
            ),
            write=False,
        )

    def kill_holding(self, victim: WorkerProcess, rng: random.Random) -> Kill:
        """Wait until ``victim`` holds a job, let it get into the judging, SIGKILL it, and check,
        from the database, that the job was still its own (running, its lease) when it died."""
        deadline = time.monotonic() + 60
        while True:
            held = [j for j in self.running_jobs() if victim.owns(j["lease_owner"])]
            if held:
                break
            if time.monotonic() > deadline or not victim.alive():
                raise RuntimeError(f"{victim.label} never held a job: {victim.stderr()[-1500:]}")
            time.sleep(0.005)
        time.sleep(rng.uniform(0.02, 0.15))  # inside the pull or the run, most of the time
        victim.kill()
        # What it held when it died: a dead process changes nothing, and its lease has seconds left.
        held = [j for j in self.running_jobs() if victim.owns(j["lease_owner"])]
        if held:
            job = held[0]
            return Kill(victim.label, int(job["id"]), int(job["submission_id"]), int(job["attempts"]))
        return Kill(victim.label, None, None, None)  # between two jobs

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()

    def finish(self) -> Result:
        wall = time.monotonic() - self.started
        self.stop_workers()
        for worker in self.workers:
            worker.keep_output()
        facts = read_facts(self.db, self.contest.id, self.entries)
        for kill in self.kills:
            if kill.job is None:
                continue
            events = facts.judged_events.get(kill.submission or 0, [])
            if events:
                actor = str(events[-1]["actor"])
                kill.reclaimed_by = next((w.label for w in self.workers if w.owns(actor)), actor)
            kill.final_attempt = int(facts.jobs[kill.job]["attempts"])
        leftovers = self.services.podman.clean()
        return Result(
            self.scenario,
            self.dialect,
            len(self.entries),
            self.url,
            self.contest.id,
            wall,
            facts,
            self.workers,
            self.kills,
            self.disruptions,
            self.retrying_seen,
            leftovers,
        )

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.kill()
        self.db.close()


@contextlib.contextmanager
def trial(
    services: Services, dialect: str, scenario: str, entries: list[Entry], *, lease: float
) -> Iterator[Trial]:
    t = Trial(services, dialect, scenario, entries, lease=lease)
    try:
        yield t
    finally:
        t.close()


# -- the scenarios ------------------------------------------------------------------------------


def scenario_plain(services: Services, dialect: str, entries: list[Entry], *, workers: int = 2) -> Result:
    """Two `--until-idle` workers drain the queue; nothing breaks."""
    with trial(services, dialect, "plain", entries, lease=60.0) as t:
        procs = [t.spawn(until_idle=True) for _ in range(workers)]
        deadline = time.monotonic() + 120 + 2.0 * len(entries)
        for proc in procs:
            proc.proc.wait(timeout=max(deadline - time.monotonic(), 1))
            if proc.proc.returncode != 0:
                raise RuntimeError(f"{proc.label} exited {proc.proc.returncode}: {proc.stderr()[-1500:]}")
        return t.finish()


def scenario_kill(
    services: Services,
    dialect: str,
    entries: list[Entry],
    *,
    kills: int = 1,
    lease: float = 3.0,
    seed: int = 7,
) -> Result:
    """SIGKILL a worker while it holds a job, ``kills`` times through the run; a new worker
    replaces each (as a supervisor would). The dead worker's job must be claimed again once its
    lease expires, and judged once."""
    rng = random.Random(seed)
    n = len(entries)
    with trial(services, dialect, "kill", entries, lease=lease) as t:
        live = [t.spawn(), t.spawn()]
        for number in range(kills):
            t.wait_done(n * (number + 1) // (kills + 1))
            victim = live[number % 2]
            kill = t.kill_holding(victim, rng)
            while kill.job is None:  # it was between jobs: count it, and try again on its replacement
                t.kills.append(kill)
                victim = live[number % 2] = t.spawn()
                kill = t.kill_holding(victim, rng)
            t.kills.append(kill)
            live[number % 2] = t.spawn()
            t.disruptions.append(
                f"{victim.label} SIGKILLed at {t.done()}/{n} done, holding job {kill.job} "
                f"(attempt {kill.attempt}); {live[number % 2].label} started in its place"
            )
        t.wait_done(n)
        return t.finish()


def scenario_database(
    services: Services, dialect: str, entries: list[Entry], *, lock_s: float = 5.0
) -> Result:
    """PostgreSQL: restart (fast shutdown) at a third, crash (SIGKILL) and start at two thirds.
    SQLite (no server): another process holds the write lock for ``lock_s`` at half-way."""
    n = len(entries)
    with trial(services, dialect, "database", entries, lease=10.0) as t:
        t.spawn()
        t.spawn()
        if dialect == "postgresql":
            server = services.postgres
            assert server is not None
            t.wait_done(n // 3)
            at, started = t.done(), time.monotonic()
            server.restart()
            t.disruptions.append(
                f"PostgreSQL restarted (fast shutdown, start) at {at}/{n} done: "
                f"down {time.monotonic() - started:.1f} s"
            )
            t.wait_done(2 * n // 3)
            at, started = t.done(), time.monotonic()
            server.kill()
            server.start()
            t.disruptions.append(
                f"PostgreSQL crashed (SIGKILL of every server process) at {at}/{n} done, started again: "
                f"down {time.monotonic() - started:.1f} s"
            )
        else:
            t.wait_done(n // 2)
            at = t.done()
            locker = sqlite3.connect(t.url, timeout=60, isolation_level=None)
            try:
                locker.execute("BEGIN EXCLUSIVE")  # in WAL mode: no other writer until it ends
                time.sleep(lock_s)
                locker.execute("ROLLBACK")
            finally:
                locker.close()
            t.disruptions.append(f"another process held the write lock for {lock_s:g} s at {at}/{n} done")
        t.wait_done(n)
        return t.finish()


def scenario_registry(
    services: Services, dialect: str, entries: list[Entry], *, outage_s: float = 15.0
) -> Result:
    """Stop the docker-registry process at 40 % for ``outage_s``, then start it on the same storage.
    Submissions claimed meanwhile get pull_failed events (RETRYING) and are judged once it is back."""
    n = len(entries)
    with trial(services, dialect, "registry", entries, lease=10.0) as t:
        t.spawn()
        t.spawn()
        t.wait_done(2 * n // 5)
        at = t.done()
        services.registry.halt()
        seen: set[int] = set()
        try:
            until = time.monotonic() + outage_s
            while time.monotonic() < until:
                states = snapshot(t.db, t.contest).standings.states
                seen |= {s.submission.id for s in states if s.status == "RETRYING"}
                time.sleep(0.25)
        finally:
            services.registry.start()
        t.retrying_seen = len(seen)
        t.disruptions.append(
            f"docker-registry stopped at {at}/{n} done for {outage_s:g} s, then started on the same "
            f"storage; {len(seen)} submission(s) seen RETRYING meanwhile"
        )
        t.wait_done(n)
        return t.finish()


RUNNERS: dict[str, Callable[..., Result]] = {
    "plain": scenario_plain,
    "kill": scenario_kill,
    "database": scenario_database,
    "registry": scenario_registry,
}


@contextlib.contextmanager
def started_services(dialects: tuple[str, ...]) -> Iterator[Services]:
    from tests import db_services

    workdir = Path(tempfile.mkdtemp(prefix="igrel-", dir="/tmp"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        podman = SharedPodman().start()
        stack.callback(podman.stop)
        registry = DistributionRegistry("open").start()
        stack.callback(registry.stop)
        postgres = stack.enter_context(db_services.started()) if "postgresql" in dialects else None
        yield Services(registry, podman, postgres, workdir)


# -- the report -----------------------------------------------------------------------------------


SCENARIO_TITLES = {
    "plain": "a. plain: 2 workers, nothing breaks",
    "kill": "b. a worker SIGKILLed while judging",
    "database": "c. the database goes away",
    "registry": "d. the registry goes away",
}


def _histogram(counter: Counter[int]) -> str:
    return ", ".join(f"{k}×: {v}" for k, v in sorted(counter.items()))


def _share(result: Result) -> str:
    total = sum(result.share.values()) or 1
    parts = []
    for worker in result.workers:
        count = result.share[worker.label]
        mark = " (killed)" if worker.killed else ""
        parts.append(f"{worker.label} {count} ({100 * count / total:.0f} %){mark}")
    return ", ".join(parts)


def report(results: list[Result], args: argparse.Namespace, setup: dict[str, str]) -> list[str]:
    lines = [
        "| database | scenario | N | wall s | submissions/s | judged events per submission | jobs not done "
        "| lease expiries | DB retries | pull_failed | wrong verdicts | exactly once |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        f = r.facts
        not_done = sum(v for k, v in f.job_states.items() if k != "done")
        ok = "**yes**" if not r.problems() else "**NO**"
        lines.append(
            f"| {r.dialect} | {SCENARIO_TITLES[r.scenario].split('.')[0]}. {r.scenario} | {r.n} "
            f"| {r.wall_s:.1f} | {r.n / r.wall_s:.1f} | {_histogram(f.judged_histogram)} | {not_done} "
            f"| {f.lease_expiries} | {r.db_retries} | {f.pull_failed} | {len(f.mismatches)} | {ok} |"
        )
    lines.append("")
    for r in results:
        f = r.facts
        lines += [
            f"### {SCENARIO_TITLES[r.scenario]} — {r.dialect}",
            "",
            f"- wall {r.wall_s:.1f} s for {r.n} submissions ({r.n / r.wall_s:.1f}/s), from starting the "
            "first worker process to the last job done",
            f"- judged events per submission: {_histogram(f.judged_histogram)}; job states: "
            f"{dict(f.job_states)}",
            f"- verdicts: {', '.join(f'{k} {v}' for k, v in sorted(f.verdicts.items()))}; "
            f"{f.reused} reused an earlier judgement of the same digest; "
            f"{len(f.mismatches)} differ from the verdict the image was built for",
            f"- per-worker share of the judged events: {_share(r)}",
            f"- lease expiries {f.lease_expiries}; results discarded after a lost lease {r.lost_results}; "
            f"database transactions retried on a new connection {r.db_retries}; "
            f"pull_failed events {f.pull_failed} (on {len(f.retried_submissions)} submissions)",
        ]
        for note in r.disruptions:
            lines.append(f"- {note}")
        for kill in r.kills:
            if kill.job is None:
                lines.append(f"- {kill.victim} was killed between two jobs (held none); tried again")
            else:
                lines.append(
                    f"- job {kill.job} (submission #{kill.submission}), held by {kill.victim} when it was "
                    f"killed: judged once, by {kill.reclaimed_by}, at claim {kill.final_attempt}"
                )
        containers, images = r.leftovers
        lines.append(
            f"- left in the engine afterwards (and removed): {containers} container(s), {images} image(s)"
        )
        for problem in r.problems():
            lines.append(f"- **VIOLATION**: {problem}")
        lines.append("")
    return lines


def reading(results: list[Result], setup: dict[str, str]) -> list[str]:
    """What the figures say, worded from the results themselves."""
    failed = [f"{r.dialect}/{r.scenario}" for r in results if r.problems()]
    rates = [r.n / r.wall_s for r in results]
    kills = [r for r in results if r.scenario == "kill"]
    held = sum(1 for r in kills for k in r.kills if k.job is not None)
    expiries = sum(r.facts.lease_expiries for r in kills)
    others = sum(r.facts.lease_expiries for r in results if r.scenario != "kill")
    outages = [r for r in results if r.scenario == "database" and r.dialect == "postgresql"]
    registry = [r for r in results if r.scenario == "registry"]
    busy = ", and the machine was running other work too" if float(setup.get("load_start", 0)) >= 0.5 else ""
    claims = sorted(
        {k.final_attempt for r in kills for k in r.kills if k.job is not None and k.final_attempt}
    )
    lines = ["## Reading the figures", ""]
    if not failed:
        lines.append(
            "- **Exactly once** holds in every row: the histogram of `judged` events per submission is "
            "all 1, every job is `done`, and every verdict is the one the image was built to earn."
        )
    else:
        lines.append(f"- **Exactly once does NOT hold** in {', '.join(failed)}: see the violations above.")
    lines.append(
        f"- **Throughput** ranged from {min(rates):.1f} to {max(rates):.1f} submissions/s. It is bound by "
        "the engine: each distinct image is pulled, screened, loaded into podman, run once and removed "
        "(about 0.2 s on a running engine); a duplicate costs a database read. The differences between "
        "rows are mostly run-to-run noise: the disruptions cost seconds in runs of minutes (a killed "
        "worker's job waits for its 3 s lease; while the registry is down, both workers sit in pull "
        f"retries){busy} (1-minute load average {setup.get('load_start', '?')} before the run, "
        f"{setup.get('load_end', '?')} at its end, on {os.cpu_count()} CPUs)."
    )
    if kills:
        lines.append(
            f"- **Lease expiries**: {expiries} in the kill scenarios, for {held} killed workers that held a "
            f"job; {others} elsewhere. Each dead worker's job was claimed again once its lease expired and "
            f"judged once, by another worker, at claim {' or '.join(map(str, claims)) or '–'}. A killed "
            "worker leaves behind the image it had loaded and, if it died while running it, the "
            "container: the counts above."
        )
    if outages:
        r = outages[0]
        lines.append(
            f"- **Reconnects**: PostgreSQL was restarted and crashed while {len(r.workers)} workers ran; "
            f"they re-ran {r.db_retries} transactions on new connections (`Database.run`), none was lost "
            "or applied twice. SQLite has no server to lose; a writer holding the lock only makes the "
            "workers wait (busy timeout 30 s)."
        )
    if registry:
        failed_pulls = sum(r.facts.pull_failed for r in registry)
        retried = sum(len(r.facts.retried_submissions) for r in registry)
        lines.append(
            f"- **Registry outage**: {failed_pulls} `pull_failed` events on {retried} submissions in all. "
            "A pull fails after the registry client's own retries (`RetryPolicy`: 4 tries, 0.5 s "
            "doubling, about 3.5 s); the worker then records `pull_failed` (the submission shows "
            "RETRYING) and requeues the job with its own backoff (`WorkerOptions.backoff_s` = 2 s, "
            "doubling, up to `pull_retries` = 8 pulls; retries do not count against `max_attempts`, "
            "which counts lost leases). Once the registry was back, the next claim judged each of them: "
            "one verdict, never PULL_FAILED."
        )
    return [*lines, ""]


def document(results: list[Result], args: argparse.Namespace, setup: dict[str, str]) -> str:
    command = (
        f".venv/bin/python -m bench.reliability --n {args.n} --write {args.write or 'docs/reliability.md'}"
    )
    text = DOC_HEAD.format(
        date=datetime.date.today(),
        machine=host_platform.machine(),
        cpus=os.cpu_count(),
        python=host_platform.python_version(),
        command=command,
        **setup,
    )
    return text + "\n".join([*report(results, args, setup), *reading(results, setup)]) + "\n"


DOC_HEAD = """\
# Reliability: every submission judged exactly once

The contest's judge workers take submissions from a queue in the database (`jobs`) and record each
verdict as an append-only `judged` event. This page proves, and measures, that under failures every
submission still ends with **exactly one** `judged` event, on SQLite and on PostgreSQL: no
submission lost, none judged twice, no job left behind. The figures below are from a real run:

```sh
{command}
```

(`make bench` runs it after `bench.run`; `make bench RELIABILITY_N=100` is a quicker run,
`RELIABILITY_N=0` skips it.) The same scenarios run at CI size (N=30) in
`tests/contest/test_reliability.py`.

## The guarantees, and what gives them

- **Leases.** A worker claims a job by setting `state='running'`, itself as `lease_owner` and
  `lease_expires` = now + lease (`db/queries.py: claim_job`), and renews the lease every third of its
  length while it judges. A job whose worker died is claimable again once the lease has expired; the
  claim counts an attempt (`jobs.attempts`).
- **Finish with a lease check, in one transaction.** The verdict is written by `finish_job` +
  `append_event` in the same transaction, and only if the worker still holds the lease (`_holds`:
  `state='running' AND lease_owner=me`, `SELECT … FOR UPDATE` on PostgreSQL). A worker that lost its
  lease (stalled, partitioned) has its late result discarded: it can never add a second verdict.
  Pull retries (`requeue_job` + a `pull_failed` event) are guarded the same way.
- **SKIP LOCKED.** On PostgreSQL the claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE OF jobs
  SKIP LOCKED)`: two workers never get the same row, and never wait for each other's row locks.
- **SQLite's single writer.** SQLite has no row locks: every write transaction is `BEGIN IMMEDIATE`
  (the database's one write lock, taken at the start), so two claims are serialised, and the second
  sees the first's `running` row. WAL mode keeps readers (the web page, this benchmark) from blocking.
- **Retried transactions are idempotent.** `Database.run` reconnects and runs a transaction again when
  the connection is lost (PostgreSQL restarted, crashed) or SQLite is busy. A commit whose reply was
  lost is harmless: the retried `finish_job` finds the job done and writes nothing; a claim whose reply
  was lost leaves a job leased to a worker that does not know it, which is claimed again when that
  lease expires (it shows below as a lease expiry).
- **Duplicates are judged once.** A digest already judged (under another tag) is not pulled or run
  again: its earlier conclusive verdict is reused (`reused_from` in the event).

## Method

One podman service ({podman}, `podman system service` on a store of its own under /tmp, started in
{podman_start}) runs every container; the workers reach it through `DOCKER_HOST`. Without it each
worker process would start (and stop) a private service of its own through imagegolf's engine
discovery ({private_start} here, on the host's store); sharing one keeps the engine's state in one
place we own: what a SIGKILLed worker leaves in it (an image it loaded, a container) is removed after
each scenario and counted below. One
docker-registry ({registry}) on 127.0.0.1 holds the images; PostgreSQL {postgres} runs on 127.0.0.1
with fsync off, as the tests run it (synchronous_commit on: every acknowledged commit survives a crash).

The submissions are N tiny linux/386 images built in-process (`elf.build_program`,
`oci.build_record_image`, `oci.build_image`) and pushed with `RegistryClient.push_image` ({pushed}
images in {push_s}), in blocks of 20: 13 distinct images that print the phrase plus a number
(ACCEPTED: the contest matches *contains*), 3 that print another message (WRONG_OUTPUT), 2 more tags
pointing at an earlier accepted image (the same digest: judged once, the verdict reused), one whose
`Cmd` names a file the image lacks (START_FAILED) and one holding a device node (REJECTED_IMAGE,
refused before anything runs). Each scenario starts from a fresh database (a new SQLite file, a new
PostgreSQL database), creates a contest (`runs=1`, no rate limit), records the N pushes as the
poller would (`contest.record_push`), and starts real worker processes: `imagegolf contest worker
--db URL --lease S` (with `--until-idle` in scenario a; the others are stopped with SIGTERM once every
job is done).

Everything counted comes from the database afterwards: `judged` events per submission, job states,
the verdict of each submission against the one its image was built for, `pull_failed` events. Lease
expiries are the claims beyond a job's first that were not pull retries (`attempts − 1 − pull_failed`).
"DB retries" counts the workers' `database: …; retrying` warnings (a transaction run again on a new
connection). Measured on {date}, {machine}, {cpus} CPUs, Python {python}.

## Results

"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="submissions per scenario (1000)")
    parser.add_argument("--write", metavar="FILE", help="write the markdown report here")
    parser.add_argument("--databases", default=",".join(DIALECTS), help="sqlite,postgresql (both)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="plain,kill,database,registry (all)")
    parser.add_argument("--kills", type=int, default=3, help="workers SIGKILLed in the kill scenario (3)")
    parser.add_argument("--outage", type=float, default=15.0, help="registry outage in seconds (15)")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]  # before anything of ours runs
    import logging

    logging.basicConfig(level=logging.WARNING, format="bench (its own connection): %(message)s")
    dialects = tuple(d for d in args.databases.split(",") if d)
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    if args.n < 20 or set(dialects) - set(DIALECTS) or set(scenarios) - set(SCENARIOS):
        parser.error(
            "--n ≥ 20; --databases from sqlite,postgresql; --scenarios from plain,kill,database,registry"
        )
    results: list[Result] = []
    with started_services(dialects) as services:
        started = time.monotonic()
        with services.client() as client:
            entries = push_entries(client, args.n)
        push_s = time.monotonic() - started
        pushed = len({e.digest for e in entries})
        log(f"{len(entries)} submissions ({pushed} distinct images) pushed in {push_s:.1f} s")
        setup = {
            "load_start": f"{load_start:.1f}",
            "private_start": f"{_private_podman_start():.2f} s",
            "podman": services.podman.version(),
            "podman_start": f"{services.podman.start_s:.2f} s",
            "registry": _tool_version(["docker-registry", "--version"]),
            "postgres": _postgres_version(services.postgres),
            "pushed": f"{pushed:,}",
            "push_s": f"{push_s:.1f} s",
        }
        for dialect in dialects:
            for scenario in scenarios:
                log(f"{dialect}: scenario {scenario}, N={args.n}")
                kwargs: dict[str, Any] = {}
                if scenario == "kill":
                    kwargs["kills"] = args.kills
                if scenario == "registry":
                    kwargs["outage_s"] = args.outage
                result = RUNNERS[scenario](services, dialect, entries, **kwargs)
                results.append(result)
                verdict = "exactly once" if not result.problems() else "; ".join(result.problems())
                log(
                    f"{dialect}/{scenario}: {result.wall_s:.1f} s, {result.n / result.wall_s:.1f}/s, "
                    f"histogram {dict(result.facts.judged_histogram)}, "
                    f"expiries {result.facts.lease_expiries}, db retries {result.db_retries}, "
                    f"pull_failed {result.facts.pull_failed}: {verdict}"
                )
        setup["load_end"] = f"{os.getloadavg()[0]:.1f}"
    text = document(results, args, setup)
    if args.write:
        Path(args.write).write_text(text)
    sys.stdout.write(text)
    return 1 if any(r.problems() for r in results) else 0


def _private_podman_start() -> float:
    """What a worker without DOCKER_HOST pays: imagegolf starts (and stops) its own podman service."""
    from imagegolf.engine.discovery import private_podman

    started = time.monotonic()
    with private_podman() as engine:
        engine.api.ping()
    return time.monotonic() - started


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "?"
    found = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", out)
    return found.group(1) if found else out or "?"


def _postgres_version(server: Postgres | None) -> str:
    if server is None:
        return "(not run)"
    return _tool_version([f"{server.bindir}/postgres", "--version"])


if __name__ == "__main__":
    sys.exit(main())
