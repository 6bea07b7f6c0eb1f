"""A contest at scale: the pages, recording a verdict and a room of live viewers, against the
length of the contest's history, on SQLite and PostgreSQL (issue 15's benchmark).

    .venv/bin/python -m bench.scale --write docs/benchmarks.md

For each database and each size (100, 10,000 and 100,000 submissions by up to 1,000 entrants) it
builds a synthetic contest: ``create_contest``, then the submissions, their jobs and their events
bulk-inserted (``executemany`` in large transactions: the events table forbids only updates and
deletes), then ``derived.rebuild`` once, as the first open of an older database does. The events
are what the watcher and the workers write: ``submitted``, some ``rate_limited`` and
``pull_failed``, a ``judged`` event per judged submission with the worker's payload (three runs,
layers, the entry file with a slice of a real ``explain`` view: 2-4 KB of JSON), ``rejudged``
events, disqualifications, copies of another entrant's accepted digest or layer; the newest few
submissions are still queued. Sizes shrink over each entrant's submissions, as in a golf contest.

Then ``imagegolf serve`` (a subprocess, so its memory is its own) and real HTTP on 127.0.0.1:

- median and p95 of the board page ``/``, the board page right after a change (a new version,
  so it is rendered again), ``/api/board``, an entrant's page and a submission's page (random
  entrants and submissions), after a warm-up, one request at a time;
- recording a verdict: ``derived.record`` of a ``judged`` event for a queued submission (pushed
  with ``record_push`` just before) and its job marked done, in one transaction, as the worker
  does; and recording the push itself;
- 200 viewers polling as ``live.js`` does (asyncio, one keep-alive connection each): the board
  page once, then every 2 s (plus up to 100 ms of jitter) ``/fragments/board?page=1`` with
  ``If-None-Match`` of the version they hold, for 30 s, while a worker records a verdict every
  second; p95 and max of their requests, and how many were 200 (new HTML) and 304;
- the memory of ``serve``: VmHWM (peak) and VmRSS from /proc/PID/status at the end.

Goals (printed PASS/FAIL and written with the tables): every page at the largest size within 2x
its median at the smallest and under 50 ms p95; the viewers' p95 under 100 ms; recording a
verdict roughly constant (within 2x). ``--quick`` is a smoke run (100 and 1,000 submissions, 20
viewers for 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import http.client
import itertools
import json
import math
import os
import platform as host_platform
import random
import select
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.report import replace_section
from imagegolf.contest import Contest, create_contest, derived, record_push
from imagegolf.contest.reads import HISTORY_PAGE
from imagegolf.db import Database, Transaction, open_database
from imagegolf.db import queries as q
from imagegolf.db.clock import format_time, now
from imagegolf.db.records import EventKind, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.judge.judged import JudgedData, JudgedLayer, JudgedRun
from imagegolf.judge.verdict import Verdict

SECTION = "## A contest at scale: pages, verdicts and 200 live viewers (SQLite, PostgreSQL)"
COMMAND = ".venv/bin/python -m bench.scale --write docs/benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent
IMAGEGOLF = ROOT / ".venv" / "bin" / "imagegolf"
PHRASE = "hello IDBS engineering"
REPOSITORY = "127.0.0.1:5000/contest"
ENTRANTS = 1000
SPAN = dt.timedelta(days=7)  # the synthetic history: a week, ending a day ago
WORKER = "judge-1:4242:0"
PERIOD_S = 2.0  # live.js polls every 2 s after the previous answer
JITTER_S = 0.1
CHUNK = 5000  # submissions whose events are written per transaction

# goals (issue 15)
PAGE_RATIO = 2.0
PAGE_P95_MS = 50.0
VIEWER_P95_MS = 100.0
VERDICT_RATIO = 2.0

PAGES = (
    ("board", "board page `/`"),
    ("board_new", "board page `/` after a change (rendered again)"),
    ("api_board", "`/api/board`"),
    ("entrant", "entrant page `/entrants/{name}`"),
    ("submission", "submission page `/submissions/{id}`"),
)
# The page of an entrant with a full page of history (at least HISTORY_PAGE submissions), where
# there is one: the same content at every size, unlike a random entrant's; its ratio is the goal.
FULL_ENTRANT = ("entrant_full", "entrant page, a full one (100 submissions listed)")
VERDICTS = (  # what the judge says of the submissions that are not copies, and how often
    (Verdict.ACCEPTED, 0.55),
    (Verdict.WRONG_OUTPUT, 0.20),
    (Verdict.RUNTIME_ERROR, 0.07),
    (Verdict.START_FAILED, 0.06),
    (Verdict.NO_OUTPUT, 0.04),
    (Verdict.REJECTED_IMAGE, 0.03),
    (Verdict.TIMEOUT, 0.02),
    (Verdict.OUTPUT_LIMIT, 0.02),
    (Verdict.INTERNAL_ERROR, 0.01),
)
REASONS = {
    Verdict.ACCEPTED: "3 runs exited 0 with stdout that contains the phrase (ASCII letters compared "
    "case-insensitively)",
    Verdict.WRONG_OUTPUT: "it exited 0 but stdout does not contain the phrase: 'hello IDBS enginering\\n'",
    Verdict.RUNTIME_ERROR: "it exited with status 139 (SIGSEGV)",
    Verdict.START_FAILED: "exec format error: the kernel refused to run /hello",
    Verdict.NO_OUTPUT: "it exited 0 but wrote nothing to stdout",
    Verdict.REJECTED_IMAGE: "layer 1: a hard link to a path outside the layer",
    Verdict.TIMEOUT: "still running after 10 s: killed",
    Verdict.OUTPUT_LIMIT: "it wrote more than 1 MiB to stdout",
    Verdict.INTERNAL_ERROR: "the engine did not answer within 60 s",
}
START_SIZES = (7_400_000, 1_250_000, 850_000, 16_000, 4_100)  # alpine, static C, Go, asm, tiny


# the synthetic contest


@dataclass(slots=True)
class Planned:
    """One synthetic submission and what becomes of it."""

    entrant: str
    digest: str
    seen: dt.datetime
    verdict: Verdict | None  # None: still queued
    size: int | None
    layer: str
    copy_of: int | None = None  # the index of the submission whose digest this one re-pushes
    pull_failed: bool = False
    rate_limited: bool = False
    rejudge: Verdict | None = None
    disqualify: bool = False


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def plan(n: int, rng: random.Random, end: dt.datetime) -> list[Planned]:
    """``n`` submissions, first seen first: the first 1,000 by as many entrants (in a random order
    of joining), the rest by entrants picked with weights 1/rank^0.8 (a few push most)."""
    start = end - SPAN
    names = [f"p{k:04d}" for k in range(ENTRANTS)]
    joining = rng.sample(range(ENTRANTS), ENTRANTS)
    weights = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(ENTRANTS)))
    profile = [(rng.choice(START_SIZES), rng.randint(70, 400), rng.uniform(3, 40)) for _ in range(ENTRANTS)]
    counts = [0] * ENTRANTS
    pending_from = n - max(1, n // 300)  # the newest are still queued
    originals: list[int] = []  # accepted submissions that are nobody's copy
    pushed: set[tuple[str, str]] = set()
    verdicts, cumulative = zip(*VERDICTS, strict=True)
    cumulative = tuple(itertools.accumulate(cumulative))
    out: list[Planned] = []
    for i in range(n):
        seen = start + SPAN * ((i + rng.random() * 0.5) / n)
        k = joining[i] if i < ENTRANTS else rng.choices(range(ENTRANTS), cum_weights=weights)[0]
        entrant = names[k]
        counts[k] += 1
        first, floor, tau = profile[k]
        size = floor + int(first * math.exp(-counts[k] / tau) * rng.lognormvariate(0, 0.3))
        own_layer = sha(f"layer {n}/{i}")
        item = Planned(entrant, sha(f"{n}/{i}"), seen, None, None, own_layer)
        r = rng.random()
        if i >= pending_from:
            pass
        elif r < 0.025 and originals:  # a copy: another entrant's accepted digest, or one of its layers
            j = rng.choice(originals[-200:])
            other = out[j]
            if other.entrant != entrant and (entrant, other.digest) not in pushed:
                item.verdict, item.size = Verdict.ACCEPTED, other.size
                if r < 0.02:
                    item.digest, item.layer, item.copy_of = other.digest, other.layer, j
                else:
                    item.layer = other.layer
            else:
                item.verdict, item.size = Verdict.WRONG_OUTPUT, size
        else:
            item.verdict = verdicts[min(len(verdicts) - 1, _pick(cumulative, rng.random()))]
            no_size = item.verdict in (Verdict.REJECTED_IMAGE, Verdict.INTERNAL_ERROR)
            item.size = None if no_size else size
        if item.verdict is not None:
            item.pull_failed = rng.random() < 0.01
            if rng.random() < 0.02:  # judged again after a change of the judge: mostly the same
                same = rng.random() < 0.7
                item.rejudge = item.verdict if same else rng.choice((Verdict.ACCEPTED, Verdict.WRONG_OUTPUT))
            accepted = (item.rejudge or item.verdict) is Verdict.ACCEPTED
            item.disqualify = accepted and rng.random() < 0.002
            if item.verdict is Verdict.ACCEPTED and item.layer == own_layer:
                originals.append(i)
        item.rate_limited = rng.random() < 0.01
        pushed.add((entrant, item.digest))
        out.append(item)
    return out


def _pick(cumulative: Sequence[float], r: float) -> int:
    return next((n for n, c in enumerate(cumulative) if r < c), len(cumulative) - 1)


def explain_texts() -> list[str]:
    """Real ``explain`` views (elf/annotate.py) of the program imagegolf builds for each platform."""
    from imagegolf.elf.annotate import annotate
    from imagegolf.elf.program import build_program, platforms

    message = f"{PHRASE}\n".encode()
    return [annotate(build_program(message, p), message=message) for p in platforms()]


def metrics(size: int) -> dict[str, int]:
    return {
        "docker_classic": size,
        "containerd_content": size + 550,
        "podman": size + 1161,
        "registry_compressed": size // 3 + 120,
        "pull_bytes": size // 3 + 670,
    }


def judged_payload(
    item: Planned,
    verdict: Verdict,
    size: int | None,
    job: int,
    rng: random.Random,
    explains: list[str],
    *,
    reused_from: int | None = None,
    previous: Verdict | None = None,
) -> dict[str, Any]:
    """A ``judged``/``rejudged`` event's data as the worker writes it (JudgedData.to_json)."""
    ok = verdict is Verdict.ACCEPTED
    text = rng.choice(explains)
    cut = text.find("\n", rng.randint(1200, 2800))
    elf_size = (size or 300) % 4000 or 95
    stdout = {Verdict.ACCEPTED: f"{PHRASE}\n", Verdict.WRONG_OUTPUT: "hello IDBS enginering\n"}.get(
        verdict, ""
    )
    stderr = "Segmentation fault\n" if verdict is Verdict.RUNTIME_ERROR else ""
    ran = verdict not in (Verdict.REJECTED_IMAGE, Verdict.START_FAILED, Verdict.INTERNAL_ERROR)
    data = JudgedData(
        verdict=verdict,
        reason=REASONS[verdict],
        manifest_digest=Digest.parse(item.digest),
        platform="linux/386",
        metrics=metrics(size) if size is not None else None,
        runs=tuple(
            JudgedRun(
                0 if ok or verdict is Verdict.WRONG_OUTPUT else 139, stdout, stderr, rng.randint(40, 400)
            )
            for _ in range(3 if ran else 0)
        ),
        notes=("the image's config sets no Cmd: the entrypoint /hello runs alone",)
        if rng.random() < 0.1
        else (),
        config_digest=Digest.parse(sha(f"config of {item.digest}")),
        layers=(
            JudgedLayer(
                Digest.parse(item.layer),
                (size or 300) // 3 + 90,
                "application/vnd.oci.image.layer.v1.tar+gzip",
                sha(f"diff of {item.layer}"),
            ),
        ),
        entry={"path": "/hello", "size": elf_size, "explain": text[: cut if cut > 0 else None]},
        job=job,
        attempt=2 if item.pull_failed else 1,
        worker=WORKER,
        judge_ms=rng.randint(700, 4000),
        reused_from=reused_from,
        previous=None if previous is None else previous.value,
    )
    return data.to_json()


def encode(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))  # as db/queries.py stores it


@dataclass
class Built:
    contest: Contest
    submissions: list[int]  # ids of the bulk-inserted submissions
    entrants: list[str]  # who has submitted
    counts: dict[str, int]  # how many submissions each has made
    events: int
    payload_bytes: float  # mean size of a judged event's data
    insert_s: float
    rebuild_s: float
    database_bytes: int


def build(db: Database, n: int, rng: random.Random, explains: list[str], say: Callable[[str], None]) -> Built:
    began = time.monotonic()
    contest = create_contest(db, name="scale", phrase=PHRASE, repository=REPOSITORY)
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    items = plan(n, rng, end)
    cid = contest.id

    def insert_submissions(tx: Transaction) -> list[int]:
        tx.execute_many(
            "INSERT INTO submissions (contest_id, entrant, tag, digest, first_seen, via) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(cid, p.entrant, p.entrant, p.digest, format_time(p.seen), "poll") for p in items],
        )
        rows = tx.query("SELECT id, tag, digest FROM submissions WHERE contest_id = ?", (cid,))
        ids = {(r["tag"], r["digest"]): int(r["id"]) for r in rows}
        return [ids[(p.entrant, p.digest)] for p in items]

    ids = db.run(insert_submissions)

    def insert_jobs(tx: Transaction) -> list[int]:
        rows = []
        for sid, p in zip(ids, items, strict=True):
            created = format_time(p.seen)
            done = None if p.verdict is None else format_time(p.seen + dt.timedelta(seconds=30))
            attempts = 0 if p.verdict is None else 1 + int(p.pull_failed)
            rows.append(
                (sid, "judge", "queued" if p.verdict is None else "done", attempts, created, created, done)
            )
            if p.rejudge is not None:
                later_at = format_time(end + dt.timedelta(hours=1))
                rows.append((sid, "rejudge", "done", 1, later_at, later_at, later_at))
        tx.execute_many(
            "INSERT INTO jobs (submission_id, kind, state, attempts, not_before, created_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        found = tx.query(
            "SELECT j.id, j.submission_id FROM jobs j JOIN submissions s ON s.id = j.submission_id "
            "WHERE s.contest_id = ? AND j.kind = 'judge'",
            (cid,),
        )
        job = {int(r["submission_id"]): int(r["id"]) for r in found}
        return [job[sid] for sid in ids]

    jobs = db.run(insert_jobs)
    say(f"  {n:,} submissions and their jobs inserted in {time.monotonic() - began:.1f} s")

    payloads: list[int] = []
    later: list[tuple[str, str, int, str, str, str]] = []  # re-judges and disqualifications
    event_count = 0
    for first in range(0, n, CHUNK):
        rows: list[tuple[str, str, int, str, str, str]] = []  # (at, kind, submission, digest, actor, data)
        for i in range(first, min(n, first + CHUNK)):
            p, sid, job = items[i], ids[i], jobs[i]
            at = p.seen
            rows.append(
                (
                    format_time(at),
                    EventKind.SUBMITTED,
                    sid,
                    p.digest,
                    "watch",
                    encode({"tag": p.entrant, "entrant": p.entrant, "via": "poll"}),
                )
            )
            if p.rate_limited:
                limited = {"not_before": format_time(at + dt.timedelta(minutes=17)), "limit": 30}
                rows.append(
                    (format_time(at), EventKind.RATE_LIMITED, sid, p.digest, "watch", encode(limited))
                )
                at += dt.timedelta(minutes=17)
            if p.verdict is None:
                continue
            if p.pull_failed:
                at += dt.timedelta(seconds=rng.uniform(2, 20))
                failed = {
                    "reason": f"could not fetch {REPOSITORY}@{p.digest}: connection reset by peer",
                    "retry_at": format_time(at + dt.timedelta(seconds=30)),
                    "attempt": 1,
                    "job": job,
                }
                rows.append((format_time(at), EventKind.PULL_FAILED, sid, p.digest, WORKER, encode(failed)))
                at += dt.timedelta(seconds=30)
            at += dt.timedelta(seconds=rng.uniform(2, 25))
            reused = None if p.copy_of is None else ids[p.copy_of]
            data = encode(judged_payload(p, p.verdict, p.size, job, rng, explains, reused_from=reused))
            payloads.append(len(data))
            rows.append((format_time(at), EventKind.JUDGED, sid, p.digest, WORKER, data))
            if p.rejudge is not None:
                when = end + dt.timedelta(hours=1, seconds=len(later))
                size = p.size if p.rejudge is p.verdict else (p.size or 300) + rng.randint(-50, 50)
                again = judged_payload(p, p.rejudge, size, job, rng, explains, previous=p.verdict)
                later.append((format_time(when), EventKind.REJUDGED, sid, p.digest, WORKER, encode(again)))
            if p.disqualify:
                when = end + dt.timedelta(hours=2, seconds=len(later))
                why = {"reason": "the image downloads its output at run time"}
                later.append((format_time(when), EventKind.DISQUALIFIED, sid, p.digest, "admin", encode(why)))
        rows.sort(key=lambda r: r[0])
        event_count += len(rows)
        db.run(functools.partial(_insert_events, contest_id=cid, rows=rows))
        say(
            f"  events of submissions {first + 1:,}-{min(n, first + CHUNK):,} written "
            f"({event_count:,} events)"
        )
    later.sort(key=lambda r: r[0])
    db.run(lambda tx: _insert_events(tx, cid, later))
    event_count += len(later)
    insert_s = time.monotonic() - began
    say(f"  {event_count:,} events inserted in {insert_s:.1f} s; rebuilding the derived tables")
    began = time.monotonic()
    meta = db.run(lambda tx: derived.rebuild(tx, contest))
    rebuild_s = time.monotonic() - began
    say(
        f"  rebuilt in {rebuild_s:.1f} s: {meta.submissions:,} submissions, {meta.ranked} ranked, "
        f"{meta.entrants} entrants, {meta.pending} pending"
    )
    if db.dialect == "postgresql":
        db.run(lambda tx: tx.execute("ANALYZE"))  # what autovacuum does after a bulk load
    return Built(
        contest,
        ids,
        sorted({p.entrant for p in items}),
        dict(Counter(p.entrant for p in items)),
        event_count,
        statistics.fmean(payloads) if payloads else 0.0,
        insert_s,
        rebuild_s,
        database_bytes(db),
    )


def _insert_events(tx: Transaction, contest_id: int, rows: list[tuple[str, str, int, str, str, str]]) -> None:
    tx.execute_many(
        "INSERT INTO events (contest_id, at, kind, submission_id, digest, actor, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (contest_id, at, str(kind), sid, digest, actor, data)
            for at, kind, sid, digest, actor, data in rows
        ],
    )


def database_bytes(db: Database) -> int:
    if db.dialect == "postgresql":
        row = db.run(lambda tx: tx.one("SELECT pg_database_size(current_database()) AS n"), write=False)
        return int(row["n"]) if row else 0
    path = Path(db.url.target)
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


# writing as the watcher and a worker do


def push(
    db: Database, contest: Contest, count: int, rng: random.Random, label: str
) -> tuple[list[SubmissionRow], list[float]]:
    """``count`` new submissions by random entrants, through ``record_push``; and its times."""
    rows, times = [], []
    for i in range(count):
        entrant = f"p{rng.randrange(ENTRANTS):04d}"
        began = time.perf_counter()
        intake = record_push(db, contest, entrant, sha(f"{label} {i}"), via="hook", actor="hook")
        times.append(time.perf_counter() - began)
        assert intake.submission_id is not None, intake.note
        sid = intake.submission_id
        row = db.run(functools.partial(q.submission, submission_id=sid), write=False)
        assert row is not None
        rows.append(row)
    return rows, times


def record_verdict(db: Database, contest: Contest, row: SubmissionRow, rng: random.Random) -> float:
    """The worker's transaction for one verdict: the ``judged`` event with the standings it
    changes (derived.record) and the job marked done. Returns its time."""
    verdict = Verdict.ACCEPTED if rng.random() < 0.5 else Verdict.WRONG_OUTPUT
    size = rng.randint(90, 6000)
    item = Planned(row.entrant, str(row.digest), row.first_seen, verdict, size, sha(f"layer of {row.digest}"))
    data = judged_payload(item, verdict, size, 0, rng, EXPLAINS)

    def write(tx: Transaction) -> None:
        derived.record(tx, contest, EventKind.JUDGED, WORKER, data, submission=row)
        tx.execute(
            "UPDATE jobs SET state = 'done', attempts = 1, finished_at = ? WHERE submission_id = ? "
            "AND state = 'queued'",
            (now(), row.id),
        )

    began = time.perf_counter()
    db.run(write)
    return time.perf_counter() - began


EXPLAINS: list[str] = []


# the server and its clients


class Served:
    """``imagegolf serve`` on 127.0.0.1 (a free port), as a subprocess of this one."""

    def __init__(self, url: str, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGOLF_")}
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [str(IMAGEGOLF), "serve", "--db", url, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 120
        seen = b""
        while b"\n" not in seen or b" on http://" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"imagegolf serve did not start: {seen!r}; see {log}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                seen += os.read(self.proc.stdout.fileno(), 4096)
        line = next(x for x in seen.decode().splitlines() if " on http://" in x)
        self.base = line.rsplit(" on ", 1)[1].strip().rstrip("/")
        parts = urlsplit(self.base)
        self.host, self.port = str(parts.hostname), int(parts.port or 80)

    def memory(self) -> dict[str, int]:
        """VmHWM and VmRSS in bytes."""
        found = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) * 1024
        return found

    def cpu_seconds(self) -> float:
        """User and system time so far (/proc/PID/stat)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


class Client:
    """One keep-alive connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes, float]:
        for attempt in (1, 2):
            try:
                began = time.perf_counter()
                self.conn.request("GET", path, headers=headers or {})
                response = self.conn.getresponse()
                body = response.read()
                took = time.perf_counter() - began
                return response.status, {k.lower(): v for k, v in response.getheaders()}, body, took
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()  # the server closed an idle connection: once more, on a new one
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def timed(
    client: Client,
    paths: Callable[[int], str],
    count: int,
    warmup: int,
    before: Callable[[], None] | None = None,
) -> list[float]:
    times = []
    for i in range(warmup + count):
        if before is not None:
            before()
        status, _headers, body, took = client.get(paths(i))
        if status != 200:
            raise RuntimeError(f"GET {paths(i)}: {status} {body[:300]!r}")
        if i >= warmup:
            times.append(took)
    return times


@dataclass
class Viewers:
    polls: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # the board page, once per viewer
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    verdicts: list[float] = field(default_factory=list)  # the worker's, meanwhile
    serve_cpu: float = 0.0  # seconds of CPU per second of the run
    bench_cpu: float = 0.0  # this process's (the viewers and the worker)


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str, etag: str | None
) -> tuple[int, dict[str, str], bytes, float]:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: */*", "Cache-Control: no-store"]
    if etag:
        lines.append(f'If-None-Match: "{etag}"')
    began = time.perf_counter()
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = {}
    for h in header_lines:
        if ":" in h:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    elif status != 304:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    took = time.perf_counter() - began
    return status, headers, body, took


async def _viewers(host: str, port: int, count: int, duration: float, seed: int, stats: Viewers) -> None:
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + duration
    address = f"{host}:{port}"

    async def viewer(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        await asyncio.sleep(rng.uniform(0, PERIOD_S))  # arrivals spread over one period
        reader, writer = await asyncio.open_connection(host, port)
        etag: str | None = None
        first = True
        try:
            while loop.time() < stop_at:
                path = "/" if first else "/fragments/board?page=1"
                try:
                    status, headers, _body, took = await _request(reader, writer, address, path, etag)
                except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                    stats.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    status, took = 0, 0.0
                    headers = {}
                if status == 200:
                    etag = headers.get("x-imagegolf-etag", etag)
                if status:
                    (stats.loads if first else stats.polls).append(took)
                    if not first:
                        stats.statuses[status] += 1
                first = first and status != 200
                await asyncio.sleep(PERIOD_S + rng.uniform(0, JITTER_S))  # live.js: 2 s after the answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    await asyncio.gather(*(viewer(i) for i in range(count)))


def watch_live(
    served: Served,
    db: Database,
    contest: Contest,
    pool: list[SubmissionRow],
    count: int,
    duration: float,
    rng: random.Random,
) -> Viewers:
    """``count`` viewers polling for ``duration`` s while a worker records a verdict every second."""
    stats = Viewers()
    stop = threading.Event()

    def worker() -> None:
        due = time.monotonic() + 1.0
        try:
            for row in pool:
                if stop.wait(max(0.0, due - time.monotonic())):
                    return
                stats.verdicts.append(record_verdict(db, contest, row, rng))
                due += 1.0
        finally:
            db.close_thread()

    thread = threading.Thread(target=worker, name="bench-worker", daemon=True)
    cpu, mine, began = served.cpu_seconds(), time.process_time(), time.monotonic()
    thread.start()
    try:
        asyncio.run(_viewers(served.host, served.port, count, duration, rng.randrange(2**31), stats))
    finally:
        stop.set()
        thread.join()
    wall = time.monotonic() - began
    stats.serve_cpu = (served.cpu_seconds() - cpu) / wall
    stats.bench_cpu = (time.process_time() - mine) / wall
    return stats


# one database at one size


@dataclass
class Result:
    database: str
    size: int
    built: Built
    pages: dict[str, list[float]]
    pushes: list[float]
    verdicts: list[float]
    viewers: Viewers
    memory: dict[str, int]
    entrant_rows: float  # the mean number of submissions the entrant pages timed list


def measure(database: str, url: str, n: int, args: argparse.Namespace, work: Path) -> Result:
    rng = random.Random(args.seed * 7919 + n)
    say = print
    say(f"{database}, {n:,} submissions: building")
    with open_database(url) as db:
        built = build(db, n, rng, EXPLAINS, lambda text: print(text, flush=True))
        contest = built.contest
        served = Served(url, work / f"serve-{database}-{n}.log")
        try:
            say(f"  serving on {served.base} (pid {served.proc.pid}); timing pages")
            client = Client(served.host, served.port)
            pick = random.Random(args.seed + n)
            sids = [pick.choice(built.submissions) for _ in range(args.requests + args.warmup)]
            names = [pick.choice(built.entrants) for _ in range(args.requests + args.warmup)]
            changes = itertools.count()

            def change() -> None:  # an organiser's note: a new version of the board, nothing else
                note = {"action": "bench: a new version of the board", "n": next(changes)}
                db.run(lambda tx: derived.record(tx, contest, EventKind.ADMIN, "bench", note))

            pages = {
                "board": timed(client, lambda i: "/", args.requests, args.warmup),
                "board_new": timed(client, lambda i: "/", args.requests, args.warmup, before=change),
                "api_board": timed(client, lambda i: "/api/board", args.requests, args.warmup),
                "entrant": timed(client, lambda i: f"/entrants/{names[i]}", args.requests, args.warmup),
                "submission": timed(client, lambda i: f"/submissions/{sids[i]}", args.requests, args.warmup),
            }
            full = [name for name in built.entrants if built.counts[name] >= HISTORY_PAGE]
            pages["entrant_full"] = (
                timed(client, lambda i: f"/entrants/{full[i % len(full)]}", args.requests, args.warmup)
                if full
                else []
            )
            client.close()
            for key, label in (*PAGES, FULL_ENTRANT):
                say(f"  {label}: {_ms(pages[key]) if pages[key] else 'none'}")
            pool, pushes = push(db, contest, args.verdicts, rng, f"verdicts {n}")
            verdicts = [record_verdict(db, contest, row, rng) for row in pool]
            say(f"  record a push: {_ms(pushes)}; record a verdict: {_ms(verdicts)}")
            live, _ = push(db, contest, int(args.duration) + 5, rng, f"live {n}")
            say(f"  {args.viewers} viewers for {args.duration:g} s, a verdict every second")
            viewers = watch_live(served, db, contest, live, args.viewers, args.duration, rng)
            say(
                f"  viewers: {_ms(viewers.polls)}, max {max(viewers.polls, default=0) * 1000:.0f} ms, "
                f"{dict(viewers.statuses)}, {viewers.errors} errors; "
                f"verdicts meanwhile {_ms(viewers.verdicts)}; CPU: serve {viewers.serve_cpu:.2f} s/s, "
                f"bench {viewers.bench_cpu:.2f} s/s"
            )
            memory = served.memory()
            say(
                f"  serve memory: peak {memory.get('VmHWM', 0) / 2**20:.0f} MiB, "
                f"now {memory.get('VmRSS', 0) / 2**20:.0f} MiB"
            )
        finally:
            served.stop()
    shown = statistics.fmean(min(HISTORY_PAGE, built.counts[name]) for name in names[args.warmup :])
    return Result(database, n, built, pages, pushes, verdicts, viewers, memory, shown)


# statistics and the report


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _ms(values: Sequence[float]) -> str:
    return f"median {median(values) * 1000:.1f} ms, p95 {p95(values) * 1000:.1f} ms (n={len(values)})"


def cell(values: Sequence[float]) -> str:
    return f"{median(values) * 1000:.1f} / {p95(values) * 1000:.1f}" if values else "–"


def ratio(first: float, last: float) -> str:
    return f"{last / first:.2f}×" if first > 0 else "–"


@dataclass(frozen=True)
class Goal:
    database: str
    text: str
    passed: bool
    detail: str


def goals(results: list[Result]) -> list[Goal]:
    found: list[Goal] = []
    for database in dict.fromkeys(r.database for r in results):
        rows = sorted((r for r in results if r.database == database), key=lambda r: r.size)
        small, large = rows[0], rows[-1]
        for key, label in PAGES:
            a, b = median(small.pages[key]), median(large.pages[key])
            worst = max(p95(r.pages[key]) for r in rows)
            detail = f"{b * 1000:.1f} vs {a * 1000:.1f} ms ({b / a:.2f}×), worst p95 {worst * 1000:.1f} ms"
            if key == "entrant":
                # A random entrant's page lists 1 submission at 100 and ~58 at 100,000: its time
                # follows what it shows, not the history. The ratio is judged on the same
                # content below (a full page); here only the ceiling.
                ceiling = f"{label}: p95 < {PAGE_P95_MS:g} ms at every size"
                why = f"{detail}; the ratio compares pages of different lengths"
                found.append(Goal(database, ceiling, worst < PAGE_P95_MS / 1000, why))
                found.extend(_full_entrant_goal(database, rows))
                continue
            ok = b <= PAGE_RATIO * a and worst < PAGE_P95_MS / 1000
            found.append(
                Goal(
                    database,
                    f"{label}: at {large.size:,} within {PAGE_RATIO:g}× of {small.size:,}, "
                    f"p95 < {PAGE_P95_MS:g} ms",
                    ok,
                    detail,
                )
            )
        worst = max(p95(r.viewers.polls) for r in rows)
        found.append(
            Goal(
                database,
                f"{len(large.viewers.loads)} viewers: p95 < {VIEWER_P95_MS:g} ms",
                worst < VIEWER_P95_MS / 1000,
                f"worst p95 {worst * 1000:.1f} ms",
            )
        )
        a, b = median(small.verdicts), median(large.verdicts)
        found.append(
            Goal(
                database,
                f"recording a verdict roughly constant (within {VERDICT_RATIO:g}×)",
                b <= VERDICT_RATIO * a,
                f"{b * 1000:.1f} vs {a * 1000:.1f} ms ({b / a:.2f}×)",
            )
        )
    return found


def _full_entrant_goal(database: str, rows: list[Result]) -> list[Goal]:
    """The entrant page with the same content at every size that has one: 100 submissions."""
    sized = [r for r in rows if r.pages.get(FULL_ENTRANT[0])]
    if len(sized) < 2:
        return []
    first, last = sized[0], sized[-1]
    a, b = median(first.pages[FULL_ENTRANT[0]]), median(last.pages[FULL_ENTRANT[0]])
    worst = max(p95(r.pages[FULL_ENTRANT[0]]) for r in sized)
    return [
        Goal(
            database,
            f"{FULL_ENTRANT[1]}: at {last.size:,} within {PAGE_RATIO:g}× of {first.size:,} (the first size "
            f"with one), p95 < {PAGE_P95_MS:g} ms",
            b <= PAGE_RATIO * a and worst < PAGE_P95_MS / 1000,
            f"{b * 1000:.1f} vs {a * 1000:.1f} ms ({b / a:.2f}×), worst p95 {worst * 1000:.1f} ms",
        )
    ]


def table(rows: list[Result]) -> list[str]:
    rows = sorted(rows, key=lambda r: r.size)
    small, large = rows[0], rows[-1]
    head = ["", *(f"{r.size:,}" for r in rows), f"{large.size:,} / {small.size:,}"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(label: str, cells: list[str], last: str) -> None:
        out.append("| " + " | ".join([label, *cells, last]) + " |")

    line(
        "events (judged payload, mean)",
        [f"{r.built.events:,} ({r.built.payload_bytes / 1024:.1f} KB)" for r in rows],
        "",
    )
    line(
        "build: bulk insert + rebuild (s)",
        [f"{r.built.insert_s:.1f} + {r.built.rebuild_s:.1f}" for r in rows],
        "",
    )
    line("database size (MB)", [f"{r.built.database_bytes / 1e6:.0f}" for r in rows], "")
    for key, label in PAGES:
        values = [r.pages[key] for r in rows]
        line(
            f"{label}, ms median / p95",
            [cell(v) for v in values],
            ratio(median(values[0]), median(values[-1])),
        )
        if key == "entrant":
            line(
                "(submissions each entrant page timed lists, mean)",
                [f"{r.entrant_rows:.1f}" for r in rows],
                "",
            )
            timed_full = [r.pages[FULL_ENTRANT[0]] for r in rows]
            some = [v for v in timed_full if v]
            line(
                f"{FULL_ENTRANT[1]}, ms median / p95",
                [cell(v) if v else "none" for v in timed_full],
                ratio(median(some[0]), median(some[-1])) + " (first with one)" if len(some) > 1 else "",
            )
    line(
        "record a push (`record_push`), ms",
        [cell(r.pushes) for r in rows],
        ratio(median(small.pushes), median(large.pushes)),
    )
    line(
        "record a verdict (`derived.record` + job), ms",
        [cell(r.verdicts) for r in rows],
        ratio(median(small.verdicts), median(large.verdicts)),
    )
    line(
        "the same, during the viewers, ms",
        [cell(r.viewers.verdicts) for r in rows],
        ratio(median(small.viewers.verdicts), median(large.viewers.verdicts)),
    )
    line(
        "viewers' polls, ms median / p95 / max",
        [f"{cell(r.viewers.polls)} / {max(r.viewers.polls, default=0) * 1000:.0f}" for r in rows],
        ratio(p95(small.viewers.polls), p95(large.viewers.polls)) + " (p95)",
    )
    line(
        "viewers' polls: 200 / 304 / failed",
        [
            f"{r.viewers.statuses[200]:,} / {r.viewers.statuses[304]:,} / "
            f"{r.viewers.errors + sum(v for k, v in r.viewers.statuses.items() if k not in (200, 304))}"
            for r in rows
        ],
        "",
    )
    line("viewers' first load of `/`, ms median / p95", [cell(r.viewers.loads) for r in rows], "")
    line(
        "CPU during the viewers, s per s: `serve` / this bench",
        [f"{r.viewers.serve_cpu:.2f} / {r.viewers.bench_cpu:.2f}" for r in rows],
        "",
    )
    line(
        "`serve` memory: peak (VmHWM) / at the end (VmRSS), MiB",
        [f"{r.memory.get('VmHWM', 0) / 2**20:.0f} / {r.memory.get('VmRSS', 0) / 2**20:.0f}" for r in rows],
        ratio(small.memory.get("VmHWM", 0), large.memory.get("VmHWM", 0)),
    )
    return out


def machine(pg_version: str | None) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        host_platform.machine(),
    )
    memory = next(
        (
            int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    facts = [
        f"{os.cpu_count()} CPUs ({cpu}), {memory / 2**30:.1f} GiB RAM, Linux {host_platform.release()}",
        f"Python {host_platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    if pg_version:
        facts.append(
            f"PostgreSQL {pg_version} (a private server started as the tests start it, "
            "tests/db_services.py: fsync off)"
        )
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        facts.append(", ".join(f"{p} {version(p)}" for p in ("uvicorn", "fastapi", "psycopg")))
    return facts


def document(results: list[Result], args: argparse.Namespace, facts: list[str], minutes: float) -> list[str]:
    command = COMMAND if not args.custom else f"{COMMAND} {args.custom}"
    out = [
        SECTION,
        "",
        f"    {command}",
        "",
        f"Run on {dt.date.today():%Y-%m-%d}, {minutes:.0f} minutes in all: " + "; ".join(facts) + ".",
        "",
        "Each size is a synthetic contest: up to 1,000 entrants (every one of them from 1,000 submissions "
        "on; a few push most), a week of submissions whose sizes shrink as each entrant golfs, bulk-inserted "
        "with their jobs and events (`submitted`, some `rate_limited` and `pull_failed`, a `judged` event "
        "per judged submission with the worker's payload: three runs, a layer, the entry file with a slice "
        "of a real `explain` view; 2% re-judged, 0.2% of the accepted disqualified, 2.5% copies of another "
        "entrant's accepted digest or layer; the newest 0.3% still queued), then `derived.rebuild` once"
        + (
            " (then `ANALYZE` on PostgreSQL, as autovacuum would; none on SQLite, as imagegolf runs none)"
            if "postgresql" in args.database_list
            else ""
        )
        + ". `imagegolf serve` runs as a subprocess on 127.0.0.1; every time is a real HTTP request from "
        f"this process on one keep-alive connection, after {args.warmup} warm-up requests, {args.requests} "
        "requests each (random submissions; random entrants, whose page lists up to 100 of their "
        "submissions: how many on average is shown below it, then the same for entrants with a full page "
        "(the same content at every size: the entrant page's 2× goal is judged on it). "
        + '"After a change": an organiser\'s note (an '
        "`admin` event) is recorded before each request, so the board is read and rendered again, as for "
        f"the first viewer after every event. Recording: {args.verdicts} pushes (`record_push`) and then a "
        "`judged` event for each of them (`derived.record` and the job marked done, one transaction, as "
        f"the worker). Viewers: {args.viewers} asyncio clients, each with its own connection and ETag, load "
        f"`/` once, then poll `/fragments/board?page=1` with `If-None-Match` every 2 s (+ up to 100 ms) for "
        f"{args.duration:g} s while a worker records a verdict every second (so most polls find a new "
        "version: 200). Memory: /proc/PID/status of `serve` at the end.",
        "",
    ]
    for database in dict.fromkeys(r.database for r in results):
        title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(database, database)
        out += [f"### {title}", "", *table([r for r in results if r.database == database]), ""]
    out += ["Goals (issue 15):", ""]
    for goal in goals(results):
        title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(goal.database, goal.database)
        out.append(f"- **{'PASS' if goal.passed else 'FAIL'}** {title}: {goal.text} — {goal.detail}")
    return out


@contextlib.contextmanager
def postgres_server(needed: bool) -> Iterator[Any]:
    if not needed:
        yield None
        return
    from tests.db_services import started

    with started() as server:
        yield server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", help="submissions per contest, comma-separated (100,10000,100000)")
    parser.add_argument("--databases", help="sqlite,postgresql (both)")
    parser.add_argument("--viewers", type=int, help="simulated live viewers (200)")
    parser.add_argument("--duration", type=float, help="seconds the viewers poll (30)")
    parser.add_argument("--requests", type=int, help="timed requests per page (100)")
    parser.add_argument("--verdicts", type=int, help="verdicts timed (40)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first (10)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 and 1,000; 20 viewers for 5 s")
    parser.add_argument("--write", type=Path, help="replace this section of the markdown file")
    args = parser.parse_args(argv)
    custom = [
        f"--{k} {getattr(args, k)}"
        for k in ("sizes", "databases", "viewers", "duration", "requests", "verdicts")
        if getattr(args, k) is not None
    ]
    args.custom = " ".join(custom + (["--quick"] if args.quick else []))
    quick = args.quick
    args.sizes = args.sizes or ("100,1000" if quick else "100,10000,100000")
    args.database_list = [d.strip() for d in (args.databases or "sqlite,postgresql").split(",") if d.strip()]
    args.viewers = args.viewers if args.viewers is not None else (20 if quick else 200)
    args.duration = args.duration if args.duration is not None else (5.0 if quick else 30.0)
    args.requests = args.requests if args.requests is not None else (20 if quick else 100)
    args.verdicts = args.verdicts if args.verdicts is not None else (10 if quick else 40)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    unknown = set(args.database_list) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--databases: unknown {', '.join(sorted(unknown))}")
    began = time.monotonic()
    EXPLAINS.extend(explain_texts())
    results: list[Result] = []
    pg_version = None
    with (
        tempfile.TemporaryDirectory(prefix="igscale-", dir="/tmp") as tmp,
        postgres_server("postgresql" in args.database_list) as server,
    ):
        work = Path(tmp)
        if server is not None:
            import psycopg

            with psycopg.connect(server.url, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                pg_version = str(row[0]) if row else "?"
        for database in args.database_list:
            for n in sizes:
                if database == "sqlite":
                    path = work / f"scale-{n}.db"
                    url = str(path)
                else:
                    url = server.new_database(f"scale_{n}")
                try:
                    results.append(measure(database, url, n, args, work))
                finally:
                    if database == "sqlite":
                        for extra in ("", "-wal", "-shm"):
                            Path(f"{path}{extra}").unlink(missing_ok=True)
                    else:
                        server.drop_database(f"scale_{n}")
    minutes = (time.monotonic() - began) / 60
    text = document(results, args, machine(pg_version), minutes)
    print("\n".join(text))
    failed = [g for g in goals(results) if not g.passed]
    print(f"\n{len(failed)} of {len(goals(results))} goals failed" if failed else "\nevery goal met")
    if args.write:
        replace_section(args.write, SECTION, text)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
