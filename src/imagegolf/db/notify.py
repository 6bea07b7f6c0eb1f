"""SQL of outgoing notifications (migration 5): the webhooks, the outbox of deliveries, and the
marks the outbox compares the record timeline with.

An outbox row is written in the transaction of the event that causes it (contest/outbox.py) and
claimed by a sender with a lease, as jobs are (queries.claim_job): one ``UPDATE … WHERE id =
(SELECT … FOR UPDATE SKIP LOCKED)`` on PostgreSQL, the same statement under SQLite's ``BEGIN
IMMEDIATE``. What the rows mean is contest/outbox.py's and contest/sender.py's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imagegolf.db.clock import later, now
from imagegolf.db.connection import Transaction

# A delivery's states: ``held`` (about a submission the frozen public board hides: released
# when the board is not frozen any more), ``queued``, ``sending`` (a sender holds its lease),
# ``delivered`` (the receiver answered 2xx), ``failed`` (given up, with the last error).
STATES = ("held", "queued", "sending", "delivered", "failed")
_WEBHOOK = "id, contest_id, url, format, kinds, boards, site, created_at, removed_at, retry_at"
_DELIVERY = (
    "id, contest_id, webhook_id, event_id, kind, idempotency_key, entrant, board, submission_id, "
    "payload, state, attempts, next_at, lease_owner, lease_expires, last_status, last_error, "
    "created_at, delivered_at"
)


@dataclass(frozen=True)
class WebhookRow:
    id: int
    contest_id: int
    url: str  # a secret (Slack's and Discord's URLs are their credentials): never shown whole
    format: str  # generic | slack | discord
    kinds: tuple[str, ...]  # record, first, verdict
    boards: tuple[str, ...]  # the boards whose records it hears of; empty: every board
    site: str | None  # the contest's public address, for links to pages
    created_at: str
    removed_at: str | None
    retry_at: str | None  # the receiver failed: nothing is sent to it before then

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookRow:
        return cls(
            int(row["id"]), int(row["contest_id"]), str(row["url"]), str(row["format"]),
            tuple(k for k in str(row["kinds"]).split(",") if k),
            tuple(b for b in str(row["boards"]).split(",") if b), row["site"], str(row["created_at"]),
            row["removed_at"], row["retry_at"],
        )  # fmt: skip


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    contest_id: int
    webhook_id: int
    event_id: int
    kind: str
    idempotency_key: str
    entrant: str | None
    board: str | None
    submission_id: int | None
    payload: str  # the generic JSON body, as sent (the other formats are rendered from it)
    state: str
    attempts: int
    next_at: str
    lease_owner: str | None
    lease_expires: str | None
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeliveryRow:
        fields = dict(row)
        for name in ("id", "contest_id", "webhook_id", "event_id", "attempts"):
            fields[name] = int(fields[name])
        for name in ("submission_id", "last_status"):
            fields[name] = None if fields[name] is None else int(fields[name])
        return cls(**fields)


@dataclass(frozen=True)
class Claim:
    """A delivery a sender leased, with where and how to send it."""

    delivery: DeliveryRow
    url: str
    format: str


# webhooks


def insert_webhook(
    tx: Transaction,
    contest_id: int,
    url: str,
    fmt: str,
    kinds: Sequence[str],
    site: str | None,
    boards: Sequence[str] = (),
) -> int:
    webhook_id = tx.insert(
        "INSERT INTO webhooks (contest_id, url, format, kinds, boards, site, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (contest_id, url, fmt, ",".join(kinds), ",".join(boards), site, now()),
    )
    assert webhook_id is not None
    return webhook_id


def webhooks(tx: Transaction, contest_id: int, *, removed: bool = False) -> list[WebhookRow]:
    """The contest's webhooks, oldest first (``removed``: the removed ones too)."""
    scope = "" if removed else " AND removed_at IS NULL"
    rows = tx.query(f"SELECT {_WEBHOOK} FROM webhooks WHERE contest_id = ?{scope} ORDER BY id", (contest_id,))
    return [WebhookRow.from_row(r) for r in rows]


def webhook(tx: Transaction, webhook_id: int) -> WebhookRow | None:
    row = tx.one(f"SELECT {_WEBHOOK} FROM webhooks WHERE id = ?", (webhook_id,))
    return None if row is None else WebhookRow.from_row(row)


def remove_webhook(tx: Transaction, webhook_id: int, reason: str) -> int:
    """Mark a webhook removed and give up its undelivered deliveries; how many were given up."""
    tx.execute("UPDATE webhooks SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (now(), webhook_id))
    return tx.execute(
        "UPDATE notify_outbox SET state = 'failed', last_error = ?, lease_owner = NULL, "
        "lease_expires = NULL WHERE webhook_id = ? AND state IN ('held', 'queued', 'sending')",
        (reason, webhook_id),
    )


def block_webhook(tx: Transaction, webhook_id: int, until: str) -> None:
    """The receiver failed: send it nothing before ``until`` (its deliveries keep their order)."""
    tx.execute("UPDATE webhooks SET retry_at = ? WHERE id = ?", (until, webhook_id))


def unblock_webhook(tx: Transaction, webhook_id: int) -> None:
    tx.execute("UPDATE webhooks SET retry_at = NULL WHERE id = ? AND retry_at IS NOT NULL", (webhook_id,))


# the marks: the record each board had when the outbox last looked


def mark(tx: Transaction, contest_id: int, board: str) -> tuple[str, int | None, int | None] | None:
    """(metric, record holder's submission id, size) as last seen, or None: never looked."""
    row = tx.one(
        "SELECT metric, submission_id, size FROM notify_marks WHERE contest_id = ? AND board = ?",
        (contest_id, board),
    )
    if row is None:
        return None
    sid, size = row["submission_id"], row["size"]
    return str(row["metric"]), None if sid is None else int(sid), None if size is None else int(size)


def put_mark(
    tx: Transaction, contest_id: int, board: str, metric: str, submission_id: int | None, size: int | None
) -> None:
    tx.execute(
        "INSERT INTO notify_marks (contest_id, board, metric, submission_id, size) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (contest_id, board) DO UPDATE SET metric = excluded.metric, "
        "submission_id = excluded.submission_id, size = excluded.size",
        (contest_id, board, metric, submission_id, size),
    )


# the outbox


def has_first(tx: Transaction, webhook_id: int, entrant: str) -> bool:
    """Whether this webhook was already given this entrant's first accepted submission."""
    row = tx.one(
        "SELECT 1 AS x FROM notify_outbox WHERE webhook_id = ? AND kind = 'first' AND entrant = ? LIMIT 1",
        (webhook_id, entrant),
    )
    return row is not None


def insert_delivery(
    tx: Transaction,
    *,
    contest_id: int,
    webhook_id: int,
    event_id: int,
    kind: str,
    key: str,
    entrant: str | None,
    board: str | None,
    submission_id: int | None,
    payload: str,
    held: bool,
) -> int | None:
    """Queue (or hold) one delivery; None when its idempotency key is already there."""
    at = now()
    return tx.insert(
        "INSERT INTO notify_outbox (contest_id, webhook_id, event_id, kind, idempotency_key, entrant, "
        "board, submission_id, payload, state, attempts, next_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (contest_id, webhook_id, event_id, kind, key, entrant, board, submission_id, payload,
         "held" if held else "queued", at, at),
    )  # fmt: skip


def claim(tx: Transaction, owner: str, lease_s: float, contest_id: int | None = None) -> Claim | None:
    """Lease the oldest delivery that is queued and due, or whose sender's lease expired, to a
    webhook that is neither removed nor waiting after a failure."""
    at = now()
    lock = " FOR UPDATE OF o SKIP LOCKED" if tx.dialect == "postgresql" else ""
    scope, params = "", list[Any]([at, at, at])
    if contest_id is not None:
        scope = " AND o.contest_id = ?"
        params.append(contest_id)
    row = tx.one(
        "UPDATE notify_outbox SET state = 'sending', lease_owner = ?, lease_expires = ?, "
        "attempts = attempts + 1 WHERE id = (SELECT o.id FROM notify_outbox o "
        "JOIN webhooks w ON w.id = o.webhook_id "
        "WHERE ((o.state = 'queued' AND o.next_at <= ?) OR (o.state = 'sending' AND o.lease_expires < ?)) "
        f"AND w.removed_at IS NULL AND (w.retry_at IS NULL OR w.retry_at <= ?){scope} "
        f"ORDER BY o.id LIMIT 1{lock}) RETURNING {_DELIVERY}",
        [owner, later(lease_s, at), *params],
    )
    if row is None:
        return None
    delivery = DeliveryRow.from_row(row)
    hook = webhook(tx, delivery.webhook_id)
    assert hook is not None  # outbox rows reference webhooks (foreign key)
    return Claim(delivery, hook.url, hook.format)


def any_due(tx: Transaction, contest_id: int | None = None) -> bool:
    """Whether :func:`claim` could find something (a read: a sender with nothing to do never
    takes SQLite's write lock)."""
    at = now()
    scope, params = "", list[Any]([at, at])
    if contest_id is not None:
        scope = " AND contest_id = ?"
        params.append(contest_id)
    row = tx.one(
        "SELECT 1 AS x FROM notify_outbox WHERE ((state = 'queued' AND next_at <= ?) "
        f"OR (state = 'sending' AND lease_expires < ?)){scope} LIMIT 1",
        params,
    )
    return row is not None


def delivered(tx: Transaction, delivery_id: int, status: int) -> bool:
    """The receiver answered 2xx: delivered, whoever holds the lease now (it was sent)."""
    return (
        tx.execute(
            "UPDATE notify_outbox SET state = 'delivered', delivered_at = ?, last_status = ?, "
            "last_error = NULL, lease_owner = NULL, lease_expires = NULL "
            "WHERE id = ? AND state <> 'delivered'",
            (now(), status, delivery_id),
        )
        > 0
    )


def retry(
    tx: Transaction, delivery_id: int, owner: str, next_at: str, status: int | None, error: str
) -> bool:
    """Queue again for ``next_at``, if ``owner`` still holds the lease."""
    return (
        tx.execute(
            "UPDATE notify_outbox SET state = 'queued', next_at = ?, last_status = ?, last_error = ?, "
            "lease_owner = NULL, lease_expires = NULL WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (next_at, status, error, delivery_id, owner),
        )
        > 0
    )


def fail(tx: Transaction, delivery_id: int, owner: str, status: int | None, error: str) -> bool:
    """Give up, if ``owner`` still holds the lease."""
    return (
        tx.execute(
            "UPDATE notify_outbox SET state = 'failed', last_status = ?, last_error = ?, "
            "lease_owner = NULL, lease_expires = NULL WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (status, error, delivery_id, owner),
        )
        > 0
    )


def held_contests(tx: Transaction) -> list[int]:
    rows = tx.query("SELECT DISTINCT contest_id FROM notify_outbox WHERE state = 'held'")
    return sorted(int(r["contest_id"]) for r in rows)


def release_held(tx: Transaction, contest_id: int) -> int:
    """Queue a contest's held deliveries (its public board is not frozen any more)."""
    return tx.execute(
        "UPDATE notify_outbox SET state = 'queued', next_at = ? WHERE contest_id = ? AND state = 'held'",
        (now(), contest_id),
    )


def counts(tx: Transaction, contest_id: int) -> dict[int, dict[str, int]]:
    """webhook id → {state: deliveries}, every state present."""
    rows = tx.query(
        "SELECT webhook_id, state, COUNT(*) AS n FROM notify_outbox WHERE contest_id = ? "
        "GROUP BY webhook_id, state",
        (contest_id,),
    )
    found: dict[int, dict[str, int]] = {}
    for r in rows:
        found.setdefault(int(r["webhook_id"]), dict.fromkeys(STATES, 0))[str(r["state"])] = int(r["n"])
    return found


def deliveries(
    tx: Transaction, contest_id: int, *, limit: int, webhook_id: int | None = None
) -> list[DeliveryRow]:
    """The newest deliveries, newest first."""
    scope, params = "", list[Any]([contest_id])
    if webhook_id is not None:
        scope = " AND webhook_id = ?"
        params.append(webhook_id)
    rows = tx.query(
        f"SELECT {_DELIVERY} FROM notify_outbox WHERE contest_id = ?{scope} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [DeliveryRow.from_row(r) for r in rows]


def delivery(tx: Transaction, delivery_id: int) -> DeliveryRow | None:
    row = tx.one(f"SELECT {_DELIVERY} FROM notify_outbox WHERE id = ?", (delivery_id,))
    return None if row is None else DeliveryRow.from_row(row)
