"""Judging a contest: an engine and the registry client opened once, then polling the tags,
judge workers and the notification sender, in the foreground or in threads, until stopped."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from imagegolf.contest import rejudge as rejudging
from imagegolf.contest.intake import Intake
from imagegolf.contest.model import Contest, Identity
from imagegolf.contest.reads import open_contest, standings
from imagegolf.contest.sender import Sent
from imagegolf.contest.service.notifying import send_due, start_sending
from imagegolf.contest.service.opening import (
    ContestAt,
    opened,
    opened_database,
    registry_factory,
    registry_for,
    stoppable,
)
from imagegolf.contest.standings import Standings
from imagegolf.contest.watch import DEFAULT_POLL_WORKERS, POLL_OFF, poll_once, watch
from imagegolf.contest.worker import Outcome, Worker, WorkerOptions, run_workers
from imagegolf.db import Database
from imagegolf.images.access import RegistryAccess
from imagegolf.judge.engines import Engine, connect
from imagegolf.registry import RegistryClient


@dataclass(frozen=True)
class Listeners:
    """Who hears what a judging service does: its own lines, each intake (a new tag or digest),
    each job's outcome, each notification sent in the foreground. Called from any thread."""

    said: Callable[[str], None] = lambda _line: None
    on_intake: Callable[[Intake], None] = lambda _intake: None
    on_outcome: Callable[[Outcome], None] = lambda _outcome: None
    on_sent: Callable[[Sent], None] = lambda _sent: None


@dataclass(frozen=True)
class WatchOptions:
    """``contest watch``: seconds between polls, tags a poll asks at once, judge workers, and a
    job's lease in seconds."""

    interval_s: float = 5.0
    poll_workers: int = DEFAULT_POLL_WORKERS
    workers: int = 2
    lease_s: float = 60.0


@dataclass(frozen=True)
class Judging:
    """An open contest with what judging needs: the engine, the registry client."""

    db: Database
    contest: Contest
    engine: Engine
    registry: RegistryClient
    listeners: Listeners = field(default_factory=Listeners)

    def describe(self) -> str:
        contest = self.contest
        return f"watching {contest.watched} for contest {contest.name!r}; engine {self.engine.describe()}"

    def polling_off(self) -> str | None:
        """Why the tags are not polled (the entrant comes from the registry's notifications), or None."""
        if self.contest.identity is Identity.REGISTRY_USER and not self.contest.per_entrant:
            return POLL_OFF
        return None

    def poll_once(self, poll_workers: int = DEFAULT_POLL_WORKERS) -> list[Intake]:
        found = poll_once(self.db, self.contest, self.registry, workers=poll_workers)
        for intake in found:
            self.listeners.on_intake(intake)
        return found

    def judge_queued(self, lease_s: float = 60.0) -> int:
        """Judge what is queued, in this thread; then send the notifications it caused. Jobs done."""
        options = WorkerOptions(lease_s=lease_s, contest_id=self.contest.id)
        worker = Worker(
            self.db,
            engine=self.engine,
            registry=lambda _c: self.registry,
            options=options,
            on_outcome=self.listeners.on_outcome,
        )
        done = worker.run(threading.Event(), until_idle=True)
        send_due(self.db, self.contest, self.listeners.on_sent)
        return done

    def run(self, options: WatchOptions, stop: threading.Event) -> None:
        """Poll, judge with ``options.workers`` threads and send notifications until ``stop`` is
        set (or Ctrl-C); the workers finish their current image."""
        threads = run_workers(
            self.db,
            engine=self.engine,
            registry=lambda _c: self.registry,
            count=options.workers,
            stop=stop,
            options=WorkerOptions(lease_s=options.lease_s, contest_id=self.contest.id),
            on_outcome=self.listeners.on_outcome,
        )
        threads.append(start_sending(self.db, self.contest, stop))
        try:
            watch(
                self.db,
                self.contest,
                self.registry,
                interval_s=options.interval_s,
                stop=stop,
                on_intake=self.listeners.on_intake,
                workers=options.poll_workers,
            )
        except KeyboardInterrupt:
            self.listeners.said("stopping: the workers finish their current image")
        stop.set()
        for thread in threads:
            thread.join()


@contextlib.contextmanager
def judging(
    where: ContestAt, access: RegistryAccess, listeners: Listeners | None = None
) -> Iterator[Judging]:
    """The contest opened with an engine (started if need be) and its registry client."""
    with opened(where) as (db, contest), connect(access.environ) as engine:
        yield Judging(db, contest, engine, registry_for(db, contest, access), listeners or Listeners())


@dataclass(frozen=True)
class WorkOptions:
    """``contest worker``: threads, a job's lease, whether to stop once the queue is empty, and
    whether to take every contest's jobs (else only ``where``'s)."""

    jobs: int = 1
    lease_s: float = 60.0
    until_idle: bool = False
    all_contests: bool = False


def work(
    where: ContestAt,
    options: WorkOptions,
    access: RegistryAccess,
    *,
    on_outcome: Callable[[Outcome], None],
    on_stopping: Callable[[], None] = lambda: None,
) -> int | None:
    """Judge queued jobs: until the queue is empty (the jobs done), or until SIGTERM or Ctrl-C
    (None; ``on_stopping`` is told, and the workers finish their current image)."""
    with opened_database(where.db_url, retry_s=60.0) as db, connect(access.environ) as engine:
        contest_id = None if options.all_contests else open_contest(db, where.name).id
        worker_options = WorkerOptions(lease_s=options.lease_s, contest_id=contest_id)
        make = registry_factory(db, access)
        if options.until_idle:
            worker = Worker(db, engine=engine, registry=make, options=worker_options, on_outcome=on_outcome)
            return worker.run(threading.Event(), until_idle=True)
        with stoppable() as stop:
            threads = run_workers(
                db,
                engine=engine,
                registry=make,
                count=options.jobs,
                stop=stop,
                options=worker_options,
                on_outcome=on_outcome,
            )
            try:
                while any(t.is_alive() for t in threads) and not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                on_stopping()
            stop.set()
            for thread in threads:
                thread.join()
    return None


@dataclass(frozen=True)
class Rejudged:
    """What judging submissions again found: each change, the places before, the board after,
    and the events recorded (None: a preview, nothing recorded)."""

    contest: Contest
    changes: list[rejudging.Change]
    places_before: dict[str, int]
    after: Standings
    applied: int | None


def rejudge(
    where: ContestAt, access: RegistryAccess, keys: list[str] | None, *, apply: bool, actor: str
) -> Rejudged:
    """Judge the submissions ``keys`` names (digests or ids; None: every judged one) again;
    record the new verdicts if ``apply``."""
    with opened(where) as (db, contest), connect(access.environ) as engine:
        registry = registry_for(db, contest, access)
        changes = rejudging.rejudge(db, contest, keys, engine=engine, registry=registry)
        before = {row.entrant: row.place for row in standings(db, contest).board}
        after = rejudging.preview(db, contest, changes)
        applied = rejudging.apply(db, contest, changes, actor=actor) if apply else None
    return Rejudged(contest, changes, before, after, applied)


__all__ = [
    "Judging",
    "Listeners",
    "Rejudged",
    "WatchOptions",
    "WorkOptions",
    "judging",
    "rejudge",
    "work",
]
