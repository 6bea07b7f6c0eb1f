"""Organiser actions: create a contest, disqualify and reinstate a submission, queue re-judging.
Each is an event with who and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagegolf.contest import board_store, derived
from imagegolf.contest.errors import ContestNotFound, SubmissionNotFound
from imagegolf.contest.model import (
    DEFAULT_LIMITS,
    DEFAULT_METRIC,
    DEFAULT_PATTERN,
    Contest,
    check_freeze,
    check_identity,
    check_rules,
)
from imagegolf.contest.reads import find_all, open_contest, select
from imagegolf.contest.signing import make_signing_key
from imagegolf.contest.standings import Status
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.clock import now
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError
from imagegolf.judge.boards import Board, default_boards
from imagegolf.platform import Platform


def create_contest(
    db: Database,
    *,
    name: str,
    phrase: str,
    repository: str,
    match: str = "contains",
    metric: str = DEFAULT_METRIC,
    platform: str | None = None,
    entrant_pattern: str = DEFAULT_PATTERN,
    entrant_map: dict[str, str] | None = None,
    starts_at: str | None = None,
    ends_at: str | None = None,
    limits: dict[str, Any] | None = None,
    identity: str = "tag",
    repositories: str = "shared",
    freeze_at: str | None = None,
    actor: str = "admin",
    boards: Sequence[Board] | None = None,
) -> Contest:
    """Create a contest with its boards: ``boards``, or ``default_boards(metric)`` (classic, open
    and pull). The contest's metric is its first board's."""
    chosen = tuple(boards) if boards is not None else default_boards(metric)
    if not chosen:
        raise UsageError("a contest needs at least one board")
    if len({b.name for b in chosen}) != len(chosen):
        raise UsageError(f"board names repeat: {', '.join(b.name for b in chosen)}")
    metric = chosen[0].metric
    ref, start, end = check_rules(
        phrase=phrase,
        match=match,
        metric=metric,
        watched=repository,
        pattern=entrant_pattern,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    who, where = check_identity(identity, repositories)
    freeze = check_freeze(freeze_at, start, end)
    unknown = set(limits or {}) - set(DEFAULT_LIMITS)
    if unknown:
        raise UsageError(f"unknown limits: {', '.join(sorted(unknown))} (known: {', '.join(DEFAULT_LIMITS)})")
    fields: dict[str, Any] = dict(
        name=name,
        phrase=phrase,
        match=match,
        metric=metric,
        registry=ref.registry,
        repository=ref.repository,
        # Validated and normalised (``x86_64,i386`` → ``linux/amd64,linux/386``), in order.
        platform=",".join(str(p) for p in Platform.parse_list(platform)) if platform else None,
        entrant_pattern=entrant_pattern,
        entrant_map=entrant_map or {},
        starts_at=start,
        ends_at=end,
        limits={**DEFAULT_LIMITS, **(limits or {})},
        identity=who.value,
        repositories=where.value,
        freeze_at=freeze,
    )
    private_key, certificate = make_signing_key(f"imagegolf {name} token issuer")

    def write(tx: Transaction) -> int:
        contest_id = q.insert_contest(tx, **fields)
        if contest_id is None:
            raise UsageError(
                f"a contest named {name!r} already exists in {db.url}", hint="choose another name"
            )
        q.put_signing_key(tx, contest_id, private_key, certificate)
        for position, board in enumerate(chosen):
            q.insert_board(tx, contest_id, board_store.to_record(board, position))
        row = q.contest_by_id(tx, contest_id)
        assert row is not None
        created = {k: v for k, v in fields.items() if k != "name"}
        created["boards"] = [board.to_json() for board in chosen]
        derived.record(tx, Contest.from_row(row), EventKind.CONTEST_CREATED, actor, created)
        return contest_id

    db.run(write)
    return open_contest(db, name)


def disqualify(db: Database, contest: Contest, key: str, reason: str, *, actor: str) -> int:
    """Disqualify a submission (by id or digest: every submission of that digest). Returns how many."""
    if not reason.strip():
        raise UsageError("a disqualification needs a reason", hint="say why, in a few words")
    targets = find_all(db, contest, key)

    def write(tx: Transaction) -> int:
        for target in targets:
            derived.record(
                tx, contest, EventKind.DISQUALIFIED, actor, {"reason": reason}, submission=target.submission
            )
        return len(targets)

    return db.run(write)


def reinstate(db: Database, contest: Contest, key: str, reason: str, *, actor: str) -> int:
    """Undo a disqualification (by id, or by digest: every disqualified submission of it): a
    ``reinstated`` event, after which the submission's judgement and the contest's rules decide
    again. Refused when none of them is disqualified. Returns how many were reinstated."""
    if not reason.strip():
        raise UsageError("a reinstatement needs a reason", hint="say why, in a few words")
    targets = find_all(db, contest, key)

    def write(tx: Transaction) -> int:
        d.metas(tx, contest.id, lock=True)  # the states read below stay as read until this commits
        main = board_store.first(tx, contest.id).name  # disqualified on one board: on every board
        count = 0
        for target in targets:
            current = d.state(tx, target.submission.id, main)  # as it is now, in this transaction
            if current is None or current.status != Status.DISQUALIFIED.value:
                continue
            derived.record(
                tx, contest, EventKind.REINSTATED, actor, {"reason": reason}, submission=target.submission
            )
            count += 1
        if count == 0:
            shown = ", ".join(f"#{t.submission.id} is {t.label}" for t in targets[:5])
            raise UsageError(
                f"nothing to reinstate: {key} is not disqualified ({shown})",
                hint="only a disqualified submission can be reinstated",
            )
        return count

    return db.run(write)


def queue_rejudge(db: Database, contest: Contest, keys: list[str] | None, *, actor: str) -> list[int]:
    """Queue ``rejudge`` jobs for workers (the web admin's re-judge): the given submissions (ids or
    digests) or, with ``keys`` None, every judged one. Returns the submission ids queued."""
    targets = select(db, contest, keys)

    def write(tx: Transaction) -> list[int]:
        at = now()
        for target in targets:
            q.insert_job(tx, target.submission.id, at, kind="rejudge")
        ids = [t.submission.id for t in targets]
        derived.record(tx, contest, EventKind.ADMIN, actor, {"action": "rejudge queued", "submissions": ids})
        return ids

    return db.run(write)


__all__ = [
    "ContestNotFound",
    "SubmissionNotFound",
    "create_contest",
    "disqualify",
    "queue_rejudge",
    "reinstate",
]
