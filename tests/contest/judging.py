"""In-process judging for contest tests: a registry client on the tests' open registry, and one
worker that judges every queued job of a contest on the engine given."""

from __future__ import annotations

import threading

from imagegolf.contest import Contest
from imagegolf.contest.worker import Outcome, Worker, WorkerOptions
from imagegolf.db import Database
from imagegolf.engine import Engine
from imagegolf.registry import RegistryClient


def judge_all(db: Database, contest: Contest, engine: Engine, client: RegistryClient) -> list[Outcome]:
    outcomes: list[Outcome] = []
    worker = Worker(
        db,
        engine=engine,
        registry=lambda _c: client,
        options=WorkerOptions(contest_id=contest.id),
        on_outcome=outcomes.append,
    )
    worker.run(threading.Event(), until_idle=True)
    return outcomes
