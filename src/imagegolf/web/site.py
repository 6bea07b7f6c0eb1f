"""What every request handler shares: the database, the contest (found once), the tokens."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from imagegolf.contest import Contest, Snapshot, open_contest, snapshot, version
from imagegolf.db import Database
from imagegolf.registry import RegistryClient


def etag(version: int, queue: dict[str, int]) -> str:
    """Changes when an event is appended or a job changes state (a worker starts judging)."""
    return f"{version}-{queue.get('queued', 0)}-{queue.get('running', 0)}-{queue.get('done', 0)}"


@dataclass
class Site:
    db: Database
    contest_name: str | None = None
    admin_token: str | None = None
    hook_token: str | None = None
    # Reads the manifests the registry's notifications name (an image, or an artifact that is
    # not an entry); None: the hook classifies by tag name only and the judge decides the rest.
    registry: RegistryClient | None = None
    _contest: Contest | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def contest(self) -> Contest:
        """The contest, looked up on first use (a server may start before `contest init`)."""
        with self._lock:
            if self._contest is None:
                self._contest = open_contest(self.db, self.contest_name)
            return self._contest

    def snapshot(self) -> Snapshot:
        return snapshot(self.db, self.contest())

    def version(self) -> tuple[int, dict[str, int]]:
        """The last event id and the job counts: two small queries, for /api/version's polling."""
        return version(self.db, self.contest())
