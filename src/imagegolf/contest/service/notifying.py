"""Sending the contest's outgoing notifications: once until nothing is due, or in a thread
alongside a watcher or a web server, or in the foreground until stopped."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from imagegolf.contest.model import Contest
from imagegolf.contest.sender import Sender, SenderOptions, Sent, send_until_idle, start_sender
from imagegolf.db import Database

SENDER_JOIN_S = 25.0  # a POST under way takes at most twice the 10 s timeout


@dataclass(frozen=True)
class SendOptions:
    """How the notifications are sent: a delivery's lease, the timeout of one request, and
    whether to stop once nothing is due."""

    lease_s: float = 60.0
    timeout_s: float = 10.0
    until_idle: bool = False


def send(
    db: Database,
    contest: Contest,
    options: SendOptions,
    *,
    on_sent: Callable[[Sent], None],
    stop: threading.Event,
) -> list[Sent]:
    """Send ``contest``'s due notifications: once (``until_idle``; what was tried), or until
    ``stop`` is set (nothing is returned)."""
    sender_options = SenderOptions(
        lease_s=options.lease_s, timeout_s=options.timeout_s, contest_id=contest.id
    )
    if options.until_idle:
        return send_until_idle(db, options=sender_options, on_sent=on_sent)
    Sender(db, options=sender_options, on_sent=on_sent).run(stop)
    return []


def send_due(db: Database, contest: Contest, on_sent: Callable[[Sent], None]) -> list[Sent]:
    """What the contest's judgements caused, sent once (what fails waits for a sender)."""
    return send_until_idle(db, options=SenderOptions(contest_id=contest.id), on_sent=on_sent)


def start_sending(db: Database, contest: Contest, stop: threading.Event) -> threading.Thread:
    """A sender thread for ``contest``; it stops with ``stop``."""
    return start_sender(db, stop, options=SenderOptions(contest_id=contest.id))


@contextlib.contextmanager
def sending(db: Database, contest: Contest) -> Iterator[None]:
    """A sender thread while the body runs; a POST under way is waited for."""
    stop = threading.Event()
    thread = start_sending(db, contest, stop)
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=SENDER_JOIN_S)


__all__ = ["SendOptions", "send", "send_due", "sending", "start_sending"]
