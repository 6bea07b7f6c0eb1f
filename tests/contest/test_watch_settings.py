"""`contest watch` reads the contest again before each poll: a `contest set` applies without a restart."""

from __future__ import annotations

import threading
import time

from imagegolf.contest import create_contest, submissions
from imagegolf.contest.settings import change_settings
from imagegolf.contest.watch import watch
from imagegolf.db import Database
from tests.web.held_registry import HeldRegistry

ALICE = "sha256:" + "a1" * 32
BOB = "sha256:" + "b2" * 32


class Tags(HeldRegistry):
    """The held tags, listed as distribution lists them."""

    def list_tags(self, repository: str) -> list[str]:
        return sorted(tag for (repo, tag) in self.held if repo == repository)


def test_a_window_set_while_watching_applies_to_the_next_poll(db: Database) -> None:
    contest = create_contest(db, name="w", phrase="hello", repository="127.0.0.1:5000/contest")
    registry = Tags({("contest", "alice"): ALICE})
    stop = threading.Event()
    thread = threading.Thread(
        target=watch, args=(db, contest, registry), kwargs={"interval_s": 0.05, "stop": stop}, daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not submissions(db, contest).states and time.monotonic() < deadline:
            time.sleep(0.05)
        change_settings(db, contest, {"ends_at": "2000-01-01T00:00:00Z"}, actor="test")
        registry.hold("contest", "bob", BOB)
        while len(submissions(db, contest).states) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    status = {s.submission.tag: s.status.value for s in submissions(db, contest).states}
    assert status == {"alice": "QUEUED", "bob": "OUTSIDE_WINDOW"}
