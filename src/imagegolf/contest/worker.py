"""Judge workers: claim a job with a lease, judge, record exactly one verdict.

A worker holds a job by its lease (renewed while it judges). The verdict is recorded in the same
transaction that marks the job done, and only if the worker still holds the lease: a worker that
stalled past its lease loses the job to another and its late result is discarded. A job whose
worker died (SIGKILL, power) is claimed again once the lease expires. Each submission therefore
ends with exactly one effective verdict. PostgreSQL claims with FOR UPDATE SKIP LOCKED, so
workers on other machines never wait for each other; SQLite serialises writers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from imagegolf.contest import board_store, derived
from imagegolf.contest.judging import TRANSIENT, internal_error, judge_digest
from imagegolf.contest.model import Contest
from imagegolf.contest.standings import status_label
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.clock import later
from imagegolf.db.records import EventKind, JobClaim, SubmissionRow
from imagegolf.engine import Engine
from imagegolf.errors import EnvironmentProblem
from imagegolf.judge.judged import JudgedData
from imagegolf.judge.sandbox_run import sweep_leftovers
from imagegolf.judge.verdict import Verdict
from imagegolf.registry import RegistryClient

_log = logging.getLogger(__name__)
RegistryFactory = Callable[[Contest], RegistryClient]
REUSABLE_KINDS = (EventKind.JUDGED, EventKind.REJUDGED)
INCONCLUSIVE = TRANSIENT | {Verdict.INTERNAL_ERROR}  # a judgement of these is not reused


@dataclass(frozen=True)
class WorkerOptions:
    lease_s: float = 60.0  # renewed every third of it while judging
    idle_s: float = 0.5  # wait between polls of an empty queue
    max_attempts: int = 5  # lease expiries of one job (pull retries do not count): then INTERNAL_ERROR
    pull_retries: int = 8  # PULL_FAILED attempts before it is the verdict
    backoff_s: float = 2.0  # first wait after a failed pull; doubles, capped at backoff_cap_s
    backoff_cap_s: float = 60.0
    contest_id: int | None = None  # only this contest's jobs
    sweep_after_s: float = 3600.0  # judge images older than this are a killed judge's leftovers
    sweep_every_s: float = 900.0


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


@dataclass(frozen=True)
class Outcome:
    job: int
    submission: int
    action: str  # judged | reused | retry | lost | released
    verdict: str | None
    label: str = ""  # entrant:tag and the short digest, for progress lines
    # The status the contest's rules give it once recorded, as shown (a duplicate: "REJECTED
    # (duplicate)"); None when nothing was recorded.
    status: str | None = None


def _label(submission: SubmissionRow) -> str:
    return f"{submission.entrant}:{submission.tag} {str(submission.digest)[:19]}…"


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        engine: Engine,
        registry: RegistryFactory,
        options: WorkerOptions | None = None,
        name: str | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.registry = registry
        self.options = options or WorkerOptions()
        self.name = name or worker_name()
        self.on_outcome = on_outcome
        self._contests: dict[int, Contest] = {}
        self._clients: dict[int, RegistryClient] = {}

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> int:
        """Judge until ``stop`` is set (or, ``until_idle``, until no job is due); returns jobs done."""
        done = 0
        next_sweep = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + self.options.sweep_every_s
            if self.run_once() is not None:
                done += 1
                continue
            if until_idle:
                break
            stop.wait(self.options.idle_s)
        return done

    def _sweep(self) -> None:
        """Remove what judges killed mid-run (SIGKILL) left in the engine: their images, containers."""
        containers, images = sweep_leftovers(self.engine, self.options.sweep_after_s)
        if containers or images:
            _log.warning(
                "%s: removed %d container(s) and %d image(s) left by killed judges",
                self.name,
                containers,
                images,
            )

    def run_once(self) -> Outcome | None:
        claim = self.db.run(
            lambda tx: q.claim_job(tx, self.name, self.options.lease_s, self.options.contest_id)
        )
        if claim is None:
            return None
        submission, contest = self._load(claim)
        _log.info(
            "%s: job %d, %s:%s (%s), attempt %d",
            self.name,
            claim.id,
            submission.entrant,
            submission.tag,
            str(submission.digest)[:19],
            claim.attempts,
        )
        try:
            outcome = self._judge(claim, submission, contest)
        except EnvironmentProblem:
            # The engine is gone: not the image's fault. Give the job back, uncounted.
            self.db.run(lambda tx: q.release_job(tx, claim.id, self.name))
            raise
        if self.on_outcome:
            self.on_outcome(outcome)
        return outcome

    def _load(self, claim: JobClaim) -> tuple[SubmissionRow, Contest]:
        def read(tx: Transaction) -> tuple[SubmissionRow, Contest]:
            submission = q.submission(tx, claim.submission_id)
            assert submission is not None  # jobs reference submissions (foreign key)
            # Read at every claim: `contest set` (limits, platforms) applies to what is judged next.
            row = q.contest_by_id(tx, submission.contest_id)
            assert row is not None
            self._contests[row.id] = Contest.from_row(row)
            return submission, self._contests[submission.contest_id]

        return self.db.run(read, write=False)

    def _judge(self, claim: JobClaim, submission: SubmissionRow, contest: Contest) -> Outcome:
        kind = EventKind.REJUDGED if claim.kind == "rejudge" else EventKind.JUDGED
        if claim.attempts > self.options.max_attempts:
            lost = claim.attempts - 1 - self._pull_retries(claim, submission)  # retries are not losses
            if lost >= self.options.max_attempts:
                data = internal_error(
                    f"{lost} workers lost this job (their lease expired while judging it); "
                    "not tried again: re-judge it with `imagegolf contest rejudge`"
                )
                return self._record(claim, submission, contest, kind, data, "judged")
        if kind is EventKind.JUDGED:
            earlier = self._earlier_judgement(submission)
            if earlier is not None:
                return self._record(claim, submission, contest, kind, earlier, "reused")
        with self._lease_kept(claim):
            started = time.monotonic()
            data = judge_digest(
                contest,
                submission.digest,
                registry=self._client(contest),
                engine=self.engine,
                entrant=submission.entrant,
            )
            data = data.with_(judge_ms=int(1000 * (time.monotonic() - started)))
        if data.verdict in TRANSIENT and claim.attempts < self.options.pull_retries:
            return self._retry(claim, submission, contest, data)
        return self._record(claim, submission, contest, kind, data, "judged")

    def _pull_retries(self, claim: JobClaim, submission: SubmissionRow) -> int:
        """How many of this job's earlier claims ended in a pull_failed retry (not a lost lease)."""

        def read(tx: Transaction) -> int:
            failed = q.events(
                tx, submission.contest_id, submission_id=submission.id, kinds=(EventKind.PULL_FAILED,)
            )
            return sum(1 for event in failed if event.data.get("job") == claim.id)

        return self.db.run(read, write=False)

    def _earlier_judgement(self, submission: SubmissionRow) -> JudgedData | None:
        """A digest already judged is not judged again: the latest conclusive judgement of it."""

        def read(tx: Transaction) -> JudgedData | None:
            found = None
            for event in q.events(tx, submission.contest_id, kinds=REUSABLE_KINDS, digest=submission.digest):
                data = JudgedData.from_json(event.data)
                if data.verdict not in INCONCLUSIVE:
                    found = data.with_(reused_from=event.submission_id)
            return found

        return self.db.run(read, write=False)

    def _record(
        self,
        claim: JobClaim,
        submission: SubmissionRow,
        contest: Contest,
        kind: EventKind,
        data: JudgedData,
        action: str,
    ) -> Outcome:
        data = data.with_(job=claim.id, attempt=claim.attempts, worker=self.name)

        def write(tx: Transaction) -> str | None:
            if not q.finish_job(tx, claim.id, self.name):
                return None
            derived.record(tx, contest, kind, self.name, data.to_json(), submission=submission)
            state = d.state(tx, submission.id, board_store.first(tx, contest.id).name)  # the main board's
            return data.verdict.value if state is None else status_label(state.status, state.duplicate_of)

        status = self.db.run(write)
        if status is None:
            _log.warning("%s: lost the lease of job %d; its result is discarded", self.name, claim.id)
            return Outcome(claim.id, submission.id, "lost", None, _label(submission))
        return Outcome(claim.id, submission.id, action, data.verdict.value, _label(submission), status)

    def _retry(
        self, claim: JobClaim, submission: SubmissionRow, contest: Contest, data: JudgedData
    ) -> Outcome:
        delay = min(self.options.backoff_s * 2 ** (claim.attempts - 1), self.options.backoff_cap_s)
        retry_at = later(delay)

        def write(tx: Transaction) -> bool:
            if not q.requeue_job(tx, claim.id, self.name, retry_at):
                return False
            failed = {"reason": data.reason, "retry_at": retry_at, "attempt": claim.attempts, "job": claim.id}
            derived.record(tx, contest, EventKind.PULL_FAILED, self.name, failed, submission=submission)
            return True

        if not self.db.run(write):
            return Outcome(claim.id, submission.id, "lost", None, _label(submission))
        _log.warning(
            "%s: pull of %s failed (attempt %d); retrying after %s",
            self.name,
            str(submission.digest)[:19],
            claim.attempts,
            retry_at,
        )
        return Outcome(claim.id, submission.id, "retry", data.verdict.value, _label(submission))

    def _client(self, contest: Contest) -> RegistryClient:
        if contest.id not in self._clients:
            self._clients[contest.id] = self.registry(contest)
        return self._clients[contest.id]

    @contextlib.contextmanager
    def _lease_kept(self, claim: JobClaim) -> Iterator[None]:
        """Renew the lease every third of its length while the body runs."""
        done = threading.Event()

        def renew() -> None:
            try:
                while not done.wait(self.options.lease_s / 3):
                    try:
                        if not self.db.run(
                            lambda tx: q.renew_lease(tx, claim.id, self.name, self.options.lease_s)
                        ):
                            return
                    except Exception as error:  # the database is away: the lease may lapse; finish decides
                        _log.warning("%s: cannot renew the lease of job %d: %s", self.name, claim.id, error)
            finally:
                self.db.close_thread()  # one thread per job: its connection must not outlive it

        thread = threading.Thread(target=renew, name=f"lease-{claim.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def run_workers(
    db: Database,
    *,
    engine: Engine,
    registry: RegistryFactory,
    count: int,
    stop: threading.Event,
    options: WorkerOptions | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    engine_retry_s: float = 5.0,
) -> list[threading.Thread]:
    """Start ``count`` worker threads sharing one engine connection; they stop when ``stop`` is set."""

    def loop(index: int) -> None:
        worker = Worker(
            db,
            engine=engine,
            registry=registry,
            options=options,
            name=worker_name(index),
            on_outcome=on_outcome,
        )
        while not stop.is_set():
            try:
                worker.run(stop)
            except EnvironmentProblem as problem:
                _log.error("worker %d: %s; trying again in %.0f s", index, problem, engine_retry_s)
                stop.wait(engine_retry_s)
            except Exception:
                _log.exception("worker %d crashed; restarting it", index)
                stop.wait(1.0)
        worker.close()

    threads = [
        threading.Thread(target=loop, args=(i,), name=f"judge-worker-{i}", daemon=True) for i in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads
