"""Every SQL statement imagegolf runs, as functions of an open transaction."""

from __future__ import annotations

import json
from typing import Any

from imagegolf.db.clock import Moment, later, now, stored_time
from imagegolf.db.connection import Transaction
from imagegolf.db.records import BoardRecord, ContestRow, EventKind, EventRow, JobClaim, SubmissionRow
from imagegolf.digest import Digest

_SUBMISSION = "id, contest_id, entrant, tag, digest, first_seen, via"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# contests


def insert_contest(tx: Transaction, **fields: Any) -> int | None:
    fields = dict(fields, entrant_map=_json(fields["entrant_map"]), limits=_json(fields["limits"]))
    fields.setdefault("created_at", now())
    names = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    return tx.insert(
        f"INSERT INTO contests ({names}) VALUES ({marks}) ON CONFLICT (name) DO NOTHING",
        list(fields.values()),
    )


def contests(tx: Transaction) -> list[ContestRow]:
    return [ContestRow.from_row(r) for r in tx.query("SELECT * FROM contests ORDER BY id")]


def contest_by_name(tx: Transaction, name: str) -> ContestRow | None:
    row = tx.one("SELECT * FROM contests WHERE name = ?", (name,))
    return None if row is None else ContestRow.from_row(row)


def contest_by_id(tx: Transaction, contest_id: int) -> ContestRow | None:
    row = tx.one("SELECT * FROM contests WHERE id = ?", (contest_id,))
    return None if row is None else ContestRow.from_row(row)


SETTABLE = frozenset(
    {"platform", "starts_at", "ends_at", "limits", "metric", "identity", "freeze_at", "unfrozen_at"}
)


def update_contest(tx: Transaction, contest_id: int, **fields: Any) -> None:
    """Change a contest's settings (``contest set``); the caller records the event."""
    unknown = set(fields) - SETTABLE
    assert not unknown, unknown
    if "limits" in fields:
        fields["limits"] = _json(fields["limits"])
    assignments = ", ".join(f"{name} = ?" for name in fields)
    tx.execute(f"UPDATE contests SET {assignments} WHERE id = ?", [*fields.values(), contest_id])


# boards (several rankings of one contest's judgements)

_BOARD = "name, title, metric, message, exit, platforms, position"


def boards(tx: Transaction, contest_id: int) -> list[BoardRecord]:
    """The contest's boards in order: the first is its main board."""
    rows = tx.query(
        f"SELECT {_BOARD} FROM boards WHERE contest_id = ? ORDER BY position, name", (contest_id,)
    )
    return [BoardRecord.from_row(r) for r in rows]


def insert_board(tx: Transaction, contest_id: int, board: BoardRecord) -> bool:
    """Add a board; False when the contest already has one of that name."""
    added = tx.execute(
        f"INSERT INTO boards (contest_id, {_BOARD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (contest_id, name) DO NOTHING",
        (contest_id, board.name, board.title, board.metric, board.message, board.exit,
         board.platforms, board.position),
    )  # fmt: skip
    return added > 0


def delete_board(tx: Transaction, contest_id: int, name: str) -> bool:
    return tx.execute("DELETE FROM boards WHERE contest_id = ? AND name = ?", (contest_id, name)) > 0


def set_board_metric(tx: Transaction, contest_id: int, name: str, metric: str) -> None:
    tx.execute("UPDATE boards SET metric = ? WHERE contest_id = ? AND name = ?", (metric, contest_id, name))


# registry accounts and the token server's key


def accounts(tx: Transaction, contest_id: int) -> dict[str, str]:
    """Account name → bcrypt hash, by name."""
    rows = tx.query(
        "SELECT name, password_hash FROM accounts WHERE contest_id = ? ORDER BY name", (contest_id,)
    )
    return {str(r["name"]): str(r["password_hash"]) for r in rows}


def account_hash(tx: Transaction, contest_id: int, name: str) -> str | None:
    row = tx.one("SELECT password_hash FROM accounts WHERE contest_id = ? AND name = ?", (contest_id, name))
    return None if row is None else str(row["password_hash"])


def put_account(tx: Transaction, contest_id: int, name: str, password_hash: str) -> bool:
    """Add an account or change its password; True when it is new."""
    new = account_hash(tx, contest_id, name) is None
    tx.execute(
        "INSERT INTO accounts (contest_id, name, password_hash, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (contest_id, name) DO UPDATE SET password_hash = excluded.password_hash",
        (contest_id, name, password_hash, now()),
    )
    return new


def delete_account(tx: Transaction, contest_id: int, name: str) -> bool:
    existed = account_hash(tx, contest_id, name) is not None
    tx.execute("DELETE FROM accounts WHERE contest_id = ? AND name = ?", (contest_id, name))
    return existed


def signing_key(tx: Transaction, contest_id: int) -> tuple[str, str] | None:
    """The token server's (private key PEM, certificate PEM), if made."""
    row = tx.one("SELECT private_key, certificate FROM signing_keys WHERE contest_id = ?", (contest_id,))
    return None if row is None else (str(row["private_key"]), str(row["certificate"]))


def put_signing_key(tx: Transaction, contest_id: int, private_key: str, certificate: str) -> None:
    tx.execute(
        "INSERT INTO signing_keys (contest_id, private_key, certificate, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (contest_id) DO NOTHING",
        (contest_id, private_key, certificate, now()),
    )


# tags and submissions


def tag_heads(tx: Transaction, contest_id: int) -> dict[str, str]:
    rows = tx.query("SELECT tag, digest FROM tag_heads WHERE contest_id = ?", (contest_id,))
    return {r["tag"]: r["digest"] for r in rows}


def set_tag_head(tx: Transaction, contest_id: int, tag: str, digest: str, at: str) -> None:
    tx.execute(
        "INSERT INTO tag_heads (contest_id, tag, digest, seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (contest_id, tag) DO UPDATE SET digest = excluded.digest, seen_at = excluded.seen_at",
        (contest_id, tag, digest, at),
    )


def push_seen(tx: Transaction, contest_id: int, tag: str, digest: str) -> str | None:
    """What is known of ``tag`` → ``digest``: ``submitted``; ``seen`` (the tag's head, with no
    submission: not an entry, already looked at); or None (new)."""
    row = tx.one(
        "SELECT (SELECT COUNT(*) FROM submissions WHERE contest_id = ? AND tag = ? AND digest = ?) AS n, "
        "(SELECT digest FROM tag_heads WHERE contest_id = ? AND tag = ?) AS head",
        (contest_id, tag, digest, contest_id, tag),
    )
    if row is not None and int(row["n"] or 0) > 0:
        return "submitted"
    if row is not None and row["head"] == digest:
        return "seen"
    return None


def move_tag_head(tx: Transaction, contest_id: int, tag: str, digest: str, at: str) -> bool:
    """Like :func:`set_tag_head`, but only when the head differs; True if it moved (or is new).

    Of two callers racing to record the same (tag, digest), exactly one gets True.
    """
    row = tx.one(
        "INSERT INTO tag_heads (contest_id, tag, digest, seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (contest_id, tag) DO UPDATE SET digest = excluded.digest, seen_at = excluded.seen_at "
        "WHERE tag_heads.digest <> excluded.digest RETURNING tag",
        (contest_id, tag, digest, at),
    )
    return row is not None


def insert_submission(
    tx: Transaction, contest_id: int, entrant: str, tag: str, digest: str, first_seen: Moment, via: str
) -> int | None:
    """The new submission's id, or None: this tag already pointed at this digest."""
    return tx.insert(
        "INSERT INTO submissions (contest_id, entrant, tag, digest, first_seen, via) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (contest_id, tag, digest) DO NOTHING",
        (contest_id, entrant, tag, str(digest), stored_time(first_seen), via),
    )


def submissions(tx: Transaction, contest_id: int, entrant: str | None = None) -> list[SubmissionRow]:
    if entrant is None:
        rows = tx.query(
            f"SELECT {_SUBMISSION} FROM submissions WHERE contest_id = ? ORDER BY first_seen, id",
            (contest_id,),
        )
    else:
        rows = tx.query(
            f"SELECT {_SUBMISSION} FROM submissions WHERE contest_id = ? AND entrant = ? "
            "ORDER BY first_seen, id",
            (contest_id, entrant),
        )
    return [SubmissionRow.from_row(r) for r in rows]


def submission(tx: Transaction, submission_id: int) -> SubmissionRow | None:
    row = tx.one(f"SELECT {_SUBMISSION} FROM submissions WHERE id = ?", (submission_id,))
    return None if row is None else SubmissionRow.from_row(row)


def submissions_with_digest(tx: Transaction, contest_id: int, digest: Digest | str) -> list[SubmissionRow]:
    rows = tx.query(
        f"SELECT {_SUBMISSION} FROM submissions WHERE contest_id = ? AND digest = ? ORDER BY first_seen, id",
        (contest_id, str(digest)),
    )
    return [SubmissionRow.from_row(r) for r in rows]


def count_submissions_since(tx: Transaction, contest_id: int, entrant: str, since: str) -> int:
    row = tx.one(
        "SELECT COUNT(*) AS n FROM submissions WHERE contest_id = ? AND entrant = ? AND first_seen >= ?",
        (contest_id, entrant, since),
    )
    return int(row["n"]) if row else 0


def nth_recent_submission(tx: Transaction, contest_id: int, entrant: str, since: str, n: int) -> str | None:
    """The first_seen of the entrant's n-th submission since ``since`` (0-based), oldest first."""
    row = tx.one(
        "SELECT first_seen FROM submissions WHERE contest_id = ? AND entrant = ? AND first_seen >= ? "
        "ORDER BY first_seen, id LIMIT 1 OFFSET ?",
        (contest_id, entrant, since, n),
    )
    return None if row is None else str(row["first_seen"])


# events (append-only)


def append_event(
    tx: Transaction,
    contest_id: int,
    kind: EventKind,
    actor: str,
    data: dict[str, Any],
    *,
    submission_id: int | None = None,
    digest: Digest | str | None = None,
    at: Moment | None = None,
) -> int:
    event_id = tx.insert(
        "INSERT INTO events (contest_id, at, kind, submission_id, digest, actor, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (contest_id, stored_time(at or now()), EventKind(kind).value, submission_id,
         None if digest is None else str(digest), actor, _json(data)),
    )  # fmt: skip
    assert event_id is not None
    return event_id


def events(
    tx: Transaction,
    contest_id: int,
    *,
    submission_id: int | None = None,
    kinds: tuple[EventKind, ...] = (),
    after_id: int = 0,
    before_id: int | None = None,
    digest: Digest | str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[EventRow]:
    if submission_id is None:
        sql = "SELECT * FROM events WHERE contest_id = ? AND id > ?"
        params: list[Any] = [contest_id, after_id]
    else:
        # One submission's events: through events_by_submission (submission_id, id), never the
        # contest's whole log. A unary + makes a column unusable for an index (SQLite's query
        # planner docs, "Disqualifying WHERE clause terms"; PostgreSQL reads it as the value):
        # without it SQLite 3.40 walks events_by_contest for the id range, O(the history).
        sql = "SELECT * FROM events WHERE submission_id = ? AND +contest_id = ? AND +id > ?"
        params = [submission_id, contest_id, after_id]
    if before_id is not None:
        sql += " AND id < ?" if submission_id is None else " AND +id < ?"
        params.append(before_id)
    if digest is not None:
        sql += " AND digest = ?"
        params.append(str(digest))
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params += [EventKind(k).value for k in kinds]
    sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [EventRow.from_row(r) for r in tx.query(sql, params)]


def events_of(tx: Transaction, submission_ids: list[int]) -> dict[int, list[EventRow]]:
    """The events of these submissions, each list oldest first."""
    found: dict[int, list[EventRow]] = {sid: [] for sid in submission_ids}
    for start in range(0, len(submission_ids), 500):
        chunk = submission_ids[start : start + 500]
        rows = tx.query(
            f"SELECT * FROM events WHERE submission_id IN ({', '.join('?' for _ in chunk)}) ORDER BY id",
            chunk,
        )
        for row in rows:
            event = EventRow.from_row(row)
            found[event.submission_id or 0].append(event)
    return found


def event(tx: Transaction, event_id: int) -> EventRow | None:
    row = tx.one("SELECT * FROM events WHERE id = ?", (event_id,))
    return None if row is None else EventRow.from_row(row)


def last_event_id(tx: Transaction, contest_id: int) -> int:
    row = tx.one("SELECT MAX(id) AS id FROM events WHERE contest_id = ?", (contest_id,))
    return int(row["id"]) if row and row["id"] is not None else 0


# jobs: leases, claimed with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers)


def insert_job(tx: Transaction, submission_id: int, not_before: str, kind: str = "judge") -> int:
    """Queue a job: ``judge`` (a new submission) or ``rejudge`` (judge again, record it as such)."""
    job_id = tx.insert(
        "INSERT INTO jobs (submission_id, kind, state, attempts, not_before, created_at) "
        "VALUES (?, ?, 'queued', 0, ?, ?)",
        (submission_id, kind, not_before, now()),
    )
    assert job_id is not None
    return job_id


def claim_job(tx: Transaction, owner: str, lease_s: float, contest_id: int | None = None) -> JobClaim | None:
    """Lease the oldest job that is queued and due, or whose previous lease expired."""
    at = now()
    expires = later(lease_s, at)
    lock = " FOR UPDATE OF jobs SKIP LOCKED" if tx.dialect == "postgresql" else ""
    scope = ""
    params: list[Any] = [at, at]
    if contest_id is not None:
        scope = " AND submission_id IN (SELECT id FROM submissions WHERE contest_id = ?)"
        params.append(contest_id)
    row = tx.one(
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires = ?, attempts = attempts + 1 "
        "WHERE id = (SELECT id FROM jobs WHERE ((state = 'queued' AND not_before <= ?) "
        f"OR (state = 'running' AND lease_expires < ?)){scope} ORDER BY id LIMIT 1{lock}) "
        "RETURNING id, submission_id, kind, attempts, lease_expires",
        [owner, expires, *params],
    )
    if row is None:
        return None
    return JobClaim(
        int(row["id"]),
        int(row["submission_id"]),
        str(row["kind"]),
        int(row["attempts"]),
        owner,
        str(row["lease_expires"]),
    )


def _holds(tx: Transaction, job_id: int, owner: str) -> bool:
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    row = tx.one(f"SELECT state, lease_owner FROM jobs WHERE id = ?{lock}", (job_id,))
    return row is not None and row["state"] == "running" and row["lease_owner"] == owner


def renew_lease(tx: Transaction, job_id: int, owner: str, lease_s: float) -> bool:
    if not _holds(tx, job_id, owner):
        return False
    tx.execute("UPDATE jobs SET lease_expires = ? WHERE id = ?", (later(lease_s), job_id))
    return True


def finish_job(tx: Transaction, job_id: int, owner: str) -> bool:
    """Mark done if ``owner`` still holds the lease (in the caller's transaction); else False."""
    if not _holds(tx, job_id, owner):
        return False
    tx.execute(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires = NULL, finished_at = ? "
        "WHERE id = ?",
        (now(), job_id),
    )
    return True


def requeue_job(tx: Transaction, job_id: int, owner: str, not_before: str) -> bool:
    if not _holds(tx, job_id, owner):
        return False
    tx.execute(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires = NULL, not_before = ? "
        "WHERE id = ?",
        (not_before, job_id),
    )
    return True


def release_job(tx: Transaction, job_id: int, owner: str) -> bool:
    """Give a job back without it counting as an attempt (the worker is shutting down)."""
    if not _holds(tx, job_id, owner):
        return False
    tx.execute(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires = NULL, attempts = attempts - 1 "
        "WHERE id = ?",
        (job_id,),
    )
    return True


def running_submissions(tx: Transaction, contest_id: int) -> frozenset[int]:
    """The submissions a worker holds a job of now (their status reads JUDGING)."""
    rows = tx.query(
        "SELECT DISTINCT j.submission_id FROM jobs j JOIN submissions s ON s.id = j.submission_id "
        "WHERE j.state = 'running' AND s.contest_id = ?",
        (contest_id,),
    )
    return frozenset(int(r["submission_id"]) for r in rows)


def queue_counts(tx: Transaction, contest_id: int | None = None) -> dict[str, int]:
    """How many jobs are queued and running: the counters the jobs' triggers keep (schema.py),
    one row per state, however long the queue."""
    scope, params = "", []
    if contest_id is not None:
        scope, params = " WHERE contest_id = ?", [contest_id]
    rows = tx.query(f"SELECT state, SUM(n) AS n FROM job_counts{scope} GROUP BY state", params)
    counts = {"queued": 0, "running": 0}
    counts.update({str(r["state"]): int(r["n"]) for r in rows})
    return counts
