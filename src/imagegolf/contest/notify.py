"""Outgoing notifications, the organiser's half: add, list and remove webhooks, and read what was
delivered (docs/contest.md, "Notifications"). Writing the outbox is contest/outbox.py's; sending
it, contest/sender.py's.

A webhook's URL is a secret (a Slack or Discord webhook URL is the credential that posts to the
channel): it is stored whole and sent to, and shown only as its scheme and host (``target``)
everywhere else — the command line, the admin page and its API, the logs, the events.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from typing import Any

from imagegolf.contest import derived
from imagegolf.contest.model import Contest
from imagegolf.contest.notify_format import FORMATS, KINDS
from imagegolf.db import Database, Transaction
from imagegolf.db import notify as n
from imagegolf.db import queries as q
from imagegolf.db.notify import STATES, DeliveryRow, WebhookRow
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError

DEFAULT_KINDS = ("record", "first")
MAX_URL = 2048
_UNSAFE = set(' "<>\\^`{|}')  # never in a URL we send to or link to (and Slack's link syntax uses | and >)


def target(url: str) -> str:
    """What may be shown of a URL: its scheme and host (and port), never the path or query (a
    Slack or Discord webhook's secret) nor any user or password."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")


def check_url(url: str, what: str = "the webhook URL") -> tuple[str, list[str]]:
    """A URL to POST to (or link to): http or https, with a host; and the warnings it deserves
    (plain HTTP off loopback)."""
    text = url.strip()
    shown = target(text) if "://" in text else "(not a URL)"
    if not text or len(text) > MAX_URL:
        raise UsageError(f"{what} must be 1 to {MAX_URL} characters")
    if any(c in _UNSAFE or ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise UsageError(
            f"{what} ({shown}…) holds a space, a control character or one of {''.join(sorted(_UNSAFE))}",
            hint="percent-encode it",
        )
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(f"{what} must be http:// or https:// (got {parts.scheme or 'no scheme'}://)")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise UsageError(f"{what} ({shown}): the port is not a number in 0..65535") from None
    if not parts.hostname:
        raise UsageError(f"{what} names no host")
    if parts.fragment:
        raise UsageError(f"{what} ({shown}…) has a #fragment, which is never sent: remove it")
    warnings = []
    if parts.scheme.lower() == "http" and not loopback(parts.hostname):
        warnings.append(
            f"{what} is plain HTTP to {parts.hostname}: the notifications and the URL's secret cross "
            "the network in the clear; use https://"
        )
    return text, warnings


def parse_kinds(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in items if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(
            f"notification kinds {','.join(unknown) or '(nothing)'}: give some of {','.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in kinds)  # in the documented order


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"webhook format {fmt!r}: give one of {', '.join(FORMATS)}")
    return fmt


@dataclass(frozen=True)
class Webhook:
    """A webhook as it may be shown: its target, never its whole URL."""

    id: int
    target: str
    format: str
    kinds: tuple[str, ...]
    boards: tuple[str, ...]  # the boards whose records it is told of; empty: every board
    site: str | None
    created_at: str
    removed_at: str | None
    retry_at: str | None  # after a failure, nothing is sent to it before then
    counts: dict[str, int]  # deliveries by state

    @classmethod
    def of(cls, row: WebhookRow, counts: dict[str, int] | None = None) -> Webhook:
        return cls(
            row.id, target(row.url), row.format, row.kinds, row.boards, row.site, row.created_at,
            row.removed_at, row.retry_at, counts or dict.fromkeys(STATES, 0),
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "format": self.format,
            "on": list(self.kinds),
            "boards": list(self.boards),
            "site": self.site,
            "created_at": self.created_at,
            "removed_at": self.removed_at,
            "retry_at": self.retry_at,
            "deliveries": self.counts,
        }


def delivery_json(row: DeliveryRow) -> dict[str, Any]:
    """A delivery as the admin page shows it (no URL: the webhook's id and target say where)."""
    return {
        "id": row.id,
        "webhook": row.webhook_id,
        "kind": row.kind,
        "key": row.idempotency_key,
        "event": row.event_id,
        "entrant": row.entrant,
        "board": row.board,
        "submission": row.submission_id,
        "state": row.state,
        "attempts": row.attempts,
        "next_at": row.next_at if row.state in ("queued", "held", "sending") else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
    }


def add_webhook(
    db: Database,
    contest: Contest,
    url: str,
    *,
    fmt: str = "generic",
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    site: str | None = None,
    boards: tuple[str, ...] = (),
    actor: str = "admin",
) -> tuple[Webhook, list[str]]:
    """Add a webhook (one audited ``admin`` event); the webhook and the warnings about it.
    ``boards``: the boards whose new records it is told of (empty: every board)."""
    address, warnings = check_url(url)
    check_format(fmt)
    kinds = parse_kinds(kinds)
    if site is not None:
        site, _ = check_url(site, "the site's address")
        site = site.rstrip("/")

    def write(tx: Transaction) -> WebhookRow:
        known = [b.name for b in q.boards(tx, contest.id)]
        unknown = [b for b in boards if b not in known]
        if unknown:
            raise UsageError(f"board {', '.join(unknown)}: no such board (boards: {', '.join(known)})")
        for other in n.webhooks(tx, contest.id):
            if other.url == address and other.format == fmt:
                raise UsageError(
                    f"webhook #{other.id} already sends {fmt} notifications to {target(address)} (that URL)",
                    hint=f"remove it first: imagegolf contest notify remove {other.id}",
                )
        webhook_id = n.insert_webhook(tx, contest.id, address, fmt, kinds, site, tuple(dict.fromkeys(boards)))
        # The event names no URL (the event log is public): the id, the format, the kinds.
        data = {
            "action": "notification webhook added",
            "webhook": webhook_id,
            "format": fmt,
            "on": list(kinds),
        }
        derived.record(tx, contest, EventKind.ADMIN, actor, data)
        row = n.webhook(tx, webhook_id)
        assert row is not None
        return row

    return Webhook.of(db.run(write)), warnings


def remove_webhook(
    db: Database, contest: Contest, webhook_id: int, *, actor: str = "admin"
) -> tuple[Webhook, int]:
    """Remove a webhook (audited); its undelivered notifications are given up. The webhook and
    how many were given up."""

    def write(tx: Transaction) -> tuple[WebhookRow, int]:
        row = n.webhook(tx, webhook_id)
        if row is None or row.contest_id != contest.id:
            raise UsageError(f"no webhook #{webhook_id} in contest {contest.name!r}",
                             hint="see imagegolf contest notify list")  # fmt: skip
        if row.removed_at is not None:
            raise UsageError(f"webhook #{webhook_id} was removed already ({row.removed_at})")
        dropped = n.remove_webhook(tx, webhook_id, f"the webhook was removed by {actor}")
        data = {"action": "notification webhook removed", "webhook": webhook_id, "undelivered": dropped}
        derived.record(tx, contest, EventKind.ADMIN, actor, data)
        removed = n.webhook(tx, webhook_id)
        assert removed is not None
        return removed, dropped

    row, dropped = db.run(write)
    return Webhook.of(row), dropped


def webhooks(db: Database, contest: Contest, *, removed: bool = False) -> list[Webhook]:
    """The contest's webhooks with their deliveries counted by state."""

    def read(tx: Transaction) -> list[Webhook]:
        counted = n.counts(tx, contest.id)
        return [Webhook.of(row, counted.get(row.id)) for row in n.webhooks(tx, contest.id, removed=removed)]

    return db.run(read, write=False)


def deliveries(
    db: Database, contest: Contest, *, limit: int = 100, webhook_id: int | None = None
) -> list[DeliveryRow]:
    return db.run(lambda tx: n.deliveries(tx, contest.id, limit=limit, webhook_id=webhook_id), write=False)


def overview(db: Database, contest: Contest, *, limit: int = 100) -> dict[str, Any]:
    """The webhooks (removed ones too) and the newest deliveries: the admin page's view."""
    return {
        "webhooks": [w.to_json() for w in webhooks(db, contest, removed=True)],
        "deliveries": [delivery_json(row) for row in deliveries(db, contest, limit=limit)],
    }


__all__ = [
    "DEFAULT_KINDS",
    "FORMATS",
    "KINDS",
    "Webhook",
    "add_webhook",
    "check_url",
    "deliveries",
    "delivery_json",
    "overview",
    "parse_kinds",
    "remove_webhook",
    "target",
    "webhooks",
]
