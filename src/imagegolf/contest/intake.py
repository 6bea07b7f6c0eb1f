"""Write side for pushes: a tag seen pointing at a digest becomes (at most) one submission.

Called by the poller and by the registry's push notifications alike; both may report the same
push, so a (tag, digest) pair is a submission once, whoever saw it first. A tag moved back to a
digest it held before is not a new submission either. The first-seen time is pinned here and is
what ties are broken on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from imagegolf.contest.model import Contest
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.clock import later, now

_log = logging.getLogger(__name__)
HOUR_S = 3600.0


@dataclass(frozen=True)
class Intake:
    tag: str
    digest: str
    submission_id: int | None  # None: not new (already submitted) or not an entry
    entrant: str | None
    note: str  # what happened, for logs and the hook's reply


def record_push(
    db: Database,
    contest: Contest,
    tag: str,
    digest: str,
    *,
    via: str,
    actor: str = "watch",
    at: str | None = None,
) -> Intake:
    seen = at or now()
    entrant = contest.entrant_for(tag)

    def write(tx: Transaction) -> Intake:
        q.set_tag_head(tx, contest.id, tag, digest, seen)
        if entrant is None:
            return Intake(tag, digest, None, None, f"tag {tag!r} does not match the entrant pattern: ignored")
        submission_id = q.insert_submission(tx, contest.id, entrant, tag, digest, seen, via)
        if submission_id is None:
            return Intake(tag, digest, None, entrant, "already submitted")
        q.append_event(
            tx,
            contest.id,
            "submitted",
            actor,
            {"tag": tag, "entrant": entrant, "via": via},
            submission_id=submission_id,
            digest=digest,
            at=seen,
        )
        problem = contest.window_problem(seen)
        if problem:
            q.append_event(
                tx,
                contest.id,
                "outside_window",
                actor,
                {"reason": problem},
                submission_id=submission_id,
                digest=digest,
            )
            return Intake(tag, digest, submission_id, entrant, f"not judged: {problem}")
        not_before = _rate_limit(tx, contest, entrant, seen)
        if not_before != seen:
            q.append_event(
                tx,
                contest.id,
                "rate_limited",
                actor,
                {"not_before": not_before, "limit": contest.limits["per_entrant_per_hour"]},
                submission_id=submission_id,
                digest=digest,
            )
        q.insert_job(tx, submission_id, not_before)
        note = "queued" if not_before == seen else f"queued, rate-limited until {not_before}"
        return Intake(tag, digest, submission_id, entrant, note)

    intake = db.run(write)
    _log.info("%s:%s → %s: %s", contest.watched, tag, digest, intake.note)
    return intake


def _rate_limit(tx: Transaction, contest: Contest, entrant: str, seen: str) -> str:
    """When the entrant's new submission may be judged: now, or once their hour's window frees.

    Nothing is dropped: a submission over the limit waits; its first-seen time (the tie-break)
    stays the time it was pushed.
    """
    limit = int(contest.limits.get("per_entrant_per_hour") or 0)
    if limit <= 0:
        return seen
    since = later(-HOUR_S, seen)
    count = q.count_submissions_since(tx, contest.id, entrant, since)  # includes the new one
    if count <= limit:
        return seen
    # The (count - limit)-th oldest of the hour must leave the window before this one is judged.
    oldest = q.nth_recent_submission(tx, contest.id, entrant, since, count - limit - 1)
    return later(HOUR_S, oldest) if oldest else seen
