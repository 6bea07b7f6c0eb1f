"""Outgoing notifications, the sending half: claim a due delivery with a lease, POST it, record
what came of it (docs/contest.md, "Notifications").

- **claim**: as judge jobs are claimed (db/notify.py ``claim``: SKIP LOCKED on PostgreSQL, one
  writer on SQLite); an expired lease (a sender that died) makes the row claimable again;
- **send**: ``POST`` with ``Content-Type: application/json``, ``Idempotency-Key: <key>`` and
  imagegolf's ``User-Agent``, a 10 s timeout, no redirect followed;
- **2xx**: delivered (recorded whoever holds the lease: it was sent);
- **408, 429, 5xx, no answer**: queued again after a back-off of 1 s doubling to 10 min, plus up
  to 10 % jitter, or the receiver's ``Retry-After`` when longer (at most an hour); the webhook
  waits as long (its later deliveries keep their order behind it). Given up once the back-off
  has added up to 24 hours (about 150 tries);
- **another status** (a 3xx, a 4xx): tried 3 times (the receiver's configuration may be being
  fixed), then failed.

Delivery is at least once: a sender that dies between the receiver's 2xx and its database
write leaves the row to be claimed and sent again when its lease expires, with the same
``Idempotency-Key`` (the only way a receiver sees a notification twice). Nothing is lost on a
restart: the rows are in the database.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from imagegolf import __version__
from imagegolf.contest.model import Contest
from imagegolf.contest.notify import target
from imagegolf.contest.notify_format import render
from imagegolf.db import Database, Transaction
from imagegolf.db import notify as n
from imagegolf.db import queries as q
from imagegolf.db.clock import later

_log = logging.getLogger(__name__)
USER_AGENT = f"imagegolf/{__version__} (contest notifications)"
ERROR_TEXT = 300  # characters of a receiver's answer kept as the last error
_NUMBERS = itertools.count()


def sender_name() -> str:
    return f"notify:{socket.gethostname()}:{os.getpid()}:{next(_NUMBERS)}"


@dataclass(frozen=True)
class SenderOptions:
    lease_s: float = 60.0  # longer than a POST can take (the timeout, twice: connect and read)
    timeout_s: float = 10.0
    idle_s: float = 1.0  # wait between polls of an empty outbox
    backoff_s: float = 1.0  # the first wait after a failure; doubles
    backoff_cap_s: float = 600.0
    jitter: float = 0.1  # up to this fraction is added to each wait
    retry_after_cap_s: float = 3600.0  # a receiver's Retry-After is honoured up to this
    client_error_attempts: int = 3  # a 3xx or 4xx (not 408, 429): failed after this many tries
    give_up_s: float = 86400.0  # a receiver that keeps failing: failed after backing off this long
    release_every_s: float = 5.0  # how often held deliveries are looked at (the freeze may be over)
    contest_id: int | None = None  # only this contest's deliveries


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (refused, timed out, reset)
    error: str | None  # what went wrong, to show (never the URL)
    retry_after: float | None = None


@dataclass(frozen=True)
class Sent:
    delivery: int
    webhook: int
    kind: str
    outcome: str  # delivered | retry | failed | lost
    status: int | None
    error: str | None
    next_at: str | None = None


Post = Callable[[str, bytes, dict[str, str], float], Answer]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body``; the status, or why there is none. Errors never quote the URL."""
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
        )
    except requests.exceptions.SSLError:
        return Answer(None, f"TLS failed with {target(url)} (is its certificate trusted?)")
    except requests.exceptions.ConnectTimeout:
        return Answer(None, f"no connection to {target(url)} within {timeout:.0f} s")
    except requests.exceptions.ReadTimeout:
        return Answer(None, f"no answer from {target(url)} within {timeout:.0f} s")
    except requests.exceptions.ConnectionError as error:
        return Answer(None, f"cannot connect to {target(url)}: {_cause(error)}")
    except requests.exceptions.RequestException as error:
        return Answer(None, f"the request to {target(url)} failed: {type(error).__name__}")
    with response:
        try:
            head = next(response.iter_content(ERROR_TEXT), b"")
        except requests.exceptions.RequestException:
            head = b""
        status = response.status_code
        if 200 <= status < 300:
            return Answer(status, None)
        text = " ".join(head.decode("utf-8", "replace").split())[:ERROR_TEXT]
        reason = f"HTTP {status}" + (f": {text}" if text else "")
        if 300 <= status < 400:
            reason += " (a redirect: not followed; give the final URL)"
        return Answer(status, reason, retry_after(response.headers.get("retry-after")))


def _cause(error: Exception) -> str:
    text = str(error)
    for needle, said in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "the network is unreachable"),
        ("Connection reset", "the connection was reset"),
        ("RemoteDisconnected", "the connection closed without an answer"),
        ("Connection aborted", "the connection closed without an answer"),
    ):
        if needle in text:
            return said
    return type(error).__name__


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds (Discord sends a fraction) or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - time.time()
    return max(0.0, seconds) if seconds == seconds else None  # NaN: ignored


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def transient(answer: Answer) -> bool:
    """Worth trying again soon: no answer, 408, 429 or a 5xx."""
    return answer.status is None or answer.status in (408, 429) or answer.status >= 500


class Sender:
    def __init__(
        self,
        db: Database,
        *,
        options: SenderOptions | None = None,
        name: str | None = None,
        send: Post = post,
        on_sent: Callable[[Sent], None] | None = None,
    ) -> None:
        self.db = db
        self.options = options or SenderOptions()
        self.name = name or sender_name()
        self.send = send
        self.on_sent = on_sent
        self._released = 0.0

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> int:
        """Send until ``stop`` is set (or, ``until_idle``, until nothing is due); returns how many
        deliveries were tried."""
        tried = 0
        while not stop.is_set():
            if self.run_once() is not None:
                tried += 1
                continue
            if until_idle:
                break
            stop.wait(self.options.idle_s)
        return tried

    def run_once(self) -> Sent | None:
        self.release_held()
        options = self.options
        if not self.db.run(lambda tx: n.any_due(tx, options.contest_id), write=False):
            return None
        found = self.db.run(lambda tx: n.claim(tx, self.name, options.lease_s, options.contest_id))
        if found is None:
            return None
        delivery = found.delivery
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": delivery.idempotency_key,
        }
        try:
            body = render(found.format, json.loads(delivery.payload))
        except (KeyError, TypeError, ValueError) as error:  # a row written by hand, a format not known here
            answer = Answer(None, f"cannot render the {found.format} body: {error}")
            return self._finish(self._fail(delivery.id, answer), delivery.webhook_id, delivery.kind)
        answer = self.send(found.url, body, headers, options.timeout_s)
        if answer.status is not None and 200 <= answer.status < 300:
            status = answer.status

            def done(tx: Transaction) -> None:
                n.delivered(tx, delivery.id, status)
                n.unblock_webhook(tx, delivery.webhook_id)

            self.db.run(done)
            sent = Sent(delivery.id, delivery.webhook_id, delivery.kind, "delivered", status, None)
            return self._finish(sent, delivery.webhook_id, delivery.kind)
        if transient(answer) and self.waited(delivery.attempts) < options.give_up_s:
            return self._finish(self._retry(found, answer, block=True), delivery.webhook_id, delivery.kind)
        if not transient(answer) and delivery.attempts < options.client_error_attempts:
            return self._finish(self._retry(found, answer, block=False), delivery.webhook_id, delivery.kind)
        if transient(answer):
            answer = Answer(answer.status, f"gave up after {_duration(options.give_up_s)}: {answer.error}")
        else:
            answer = Answer(answer.status, f"failed after {delivery.attempts} tries: {answer.error}")
        return self._finish(self._fail(delivery.id, answer), delivery.webhook_id, delivery.kind)

    def waited(self, attempts: int) -> float:
        """How long the back-off has waited after ``attempts`` failed tries (without jitter or a
        receiver's Retry-After): counted from the first try, not from the event, so a delivery
        held through a freeze gets the whole of its patience once released."""
        options = self.options
        return sum(min(options.backoff_s * 2.0**i, options.backoff_cap_s) for i in range(max(0, attempts)))

    def delay(self, attempts: int, answer: Answer) -> float:
        """How long to wait after the ``attempts``-th failed try."""
        options = self.options
        wait = min(options.backoff_s * 2.0 ** max(0, attempts - 1), options.backoff_cap_s)
        wait += random.uniform(0, options.jitter * wait)
        if answer.retry_after is not None:
            wait = max(wait, min(answer.retry_after, options.retry_after_cap_s))
        return wait

    def _retry(self, found: n.Claim, answer: Answer, *, block: bool) -> Sent:
        delivery = found.delivery
        next_at = later(self.delay(delivery.attempts, answer))
        error = answer.error or "failed"

        def write(tx: Transaction) -> bool:
            if not n.retry(tx, delivery.id, self.name, next_at, answer.status, error):
                return False
            if block:  # the receiver is down or busy: nothing more to it before then
                n.block_webhook(tx, delivery.webhook_id, next_at)
            return True

        held = self.db.run(write)
        outcome = "retry" if held else "lost"
        return Sent(delivery.id, delivery.webhook_id, delivery.kind, outcome, answer.status, error, next_at)

    def _fail(self, delivery_id: int, answer: Answer) -> Sent:
        error = answer.error or "failed"
        ok = self.db.run(lambda tx: n.fail(tx, delivery_id, self.name, answer.status, error))
        row = self.db.run(lambda tx: n.delivery(tx, delivery_id), write=False)
        assert row is not None
        return Sent(delivery_id, row.webhook_id, row.kind, "failed" if ok else "lost", answer.status, error)

    def _finish(self, sent: Sent, webhook_id: int, kind: str) -> Sent:
        if sent.outcome == "lost":
            _log.warning("%s: lost the lease of delivery %d; another sender has it", self.name, sent.delivery)
        elif sent.outcome != "delivered":
            _log.warning(
                "notification %d (%s) to webhook #%d: %s%s",
                sent.delivery, kind, webhook_id, sent.error,
                f"; trying again after {sent.next_at}" if sent.outcome == "retry" else "; given up",
            )  # fmt: skip
        if self.on_sent:
            self.on_sent(sent)
        return sent

    def release_held(self, *, force: bool = False) -> int:
        """Queue the held deliveries of contests whose public board is not frozen any more."""
        if not force and time.monotonic() - self._released < self.options.release_every_s:
            return 0
        self._released = time.monotonic()
        wanted = self.options.contest_id

        def thawed(tx: Transaction) -> list[int]:
            found = []
            for contest_id in n.held_contests(tx):
                row = q.contest_by_id(tx, contest_id) if wanted in (None, contest_id) else None
                if row is not None and not Contest.from_row(row).frozen(dt.datetime.now(dt.UTC)):
                    found.append(contest_id)
            return found

        ready = self.db.run(thawed, write=False)  # a read: nothing held, no write lock taken
        if not ready:
            return 0
        return self.db.run(lambda tx: sum(n.release_held(tx, contest_id) for contest_id in ready))


def send_until_idle(
    db: Database, *, options: SenderOptions | None = None, on_sent: Callable[[Sent], None] | None = None
) -> list[Sent]:
    """Send every due delivery once (``notify send --until-idle``, ``watch --once``); what was tried."""
    tried: list[Sent] = []

    def seen(sent: Sent) -> None:
        tried.append(sent)
        if on_sent:
            on_sent(sent)

    sender = Sender(db, options=options, on_sent=seen)
    sender.release_held(force=True)
    sender.run(threading.Event(), until_idle=True)
    return tried


def start_sender(
    db: Database, stop: threading.Event, *, options: SenderOptions | None = None, retry_s: float = 5.0
) -> threading.Thread:
    """A daemon thread sending notifications until ``stop`` is set (``contest watch``, ``serve``)."""

    def loop() -> None:
        sender = Sender(db, options=options)
        while not stop.is_set():
            try:
                sender.run(stop)
            except Exception:  # the database away for longer than its retries: try again
                _log.exception("the notification sender failed; restarting it in %.0f s", retry_s)
                stop.wait(retry_s)
        db.close_thread()

    thread = threading.Thread(target=loop, name="notify-sender", daemon=True)
    thread.start()
    return thread


__all__ = ["Answer", "Sender", "SenderOptions", "Sent", "post", "send_until_idle", "start_sender"]
