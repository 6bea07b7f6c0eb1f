"""Opening a contest: its database, the contest in it, and the registry client its judge reads
with. Every front end (the CLI, the web server) opens a contest here."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from imagegolf.contest import accounts, tokens
from imagegolf.contest.model import Contest
from imagegolf.contest.reads import open_contest
from imagegolf.db import Database, open_database, parse_database_url
from imagegolf.images.access import RegistryAccess, open_client
from imagegolf.registry import RegistryClient

OPEN_RETRY_S = 10.0  # how long a busy or starting database is waited for


@dataclass(frozen=True)
class ContestAt:
    """Where a contest is: its database's URL (a SQLite file or postgresql://…) and its name
    (None: the database's only contest)."""

    db_url: str
    name: str | None = None


def database_missing(db_url: str) -> Path | None:
    """The SQLite file ``db_url`` names when it does not exist yet (a server should not create an
    empty database); None when it exists or the database is a server."""
    parsed = parse_database_url(db_url)
    if parsed.dialect == "sqlite" and not Path(parsed.target).exists():
        return Path(parsed.target)
    return None


@contextlib.contextmanager
def opened_database(db_url: str, *, retry_s: float = OPEN_RETRY_S) -> Iterator[Database]:
    """The database (created and migrated if needed), closed on exit."""
    with open_database(db_url, retry_s=retry_s) as db:
        yield db


@contextlib.contextmanager
def opened(where: ContestAt, *, retry_s: float = OPEN_RETRY_S) -> Iterator[tuple[Database, Contest]]:
    """The database and the contest in it; fails at once if the contest is not there."""
    with opened_database(where.db_url, retry_s=retry_s) as db:
        yield db, open_contest(db, where.name)


def registry_for(db: Database, contest: Contest, access: RegistryAccess) -> RegistryClient:
    """The client for ``contest``'s registry. A contest whose registry imagegolf runs (it has
    entrant accounts) is read with the judge's own account unless ``access`` names a user: its
    password is derived from the contest's key, so it needs no configuration."""
    if access.username is None and accounts.entrants(db, contest):
        username, password = tokens.judge_credentials(db, contest)
        access = replace(access, username=username, password=password)
    return open_client(access, contest.registry)


def registry_factory(db: Database, access: RegistryAccess) -> Callable[[Contest], RegistryClient]:
    """:func:`registry_for` per contest (a worker judging every contest's jobs)."""
    return lambda contest: registry_for(db, contest, access)


@contextlib.contextmanager
def stoppable() -> Iterator[threading.Event]:
    """An event set on SIGTERM while the body runs (Ctrl-C raises KeyboardInterrupt as usual);
    set on exit too, so threads waiting on it stop. Outside the main thread no handler is
    installed (Python allows signal handlers only there)."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        stop.set()
        if in_main:
            signal.signal(signal.SIGTERM, previous)


__all__ = [
    "OPEN_RETRY_S",
    "ContestAt",
    "database_missing",
    "opened",
    "opened_database",
    "registry_factory",
    "registry_for",
    "stoppable",
]
