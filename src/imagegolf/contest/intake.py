"""Write side for pushes: a tag seen pointing at a digest becomes (at most) one submission.

Called by the poller and by the registry's push notifications alike; both may report the same
push, so a (tag, digest) pair is a submission once, whoever saw it first. A tag moved back to a
digest it held before is not a new submission either. The first-seen time is pinned here and is
what ties are broken on.

Not every tag is an entry: cosign's sidecar tags (``sha256-<hex>.sig``, ``.att``, ``.sbom``) and
OCI artifacts (a manifest with a ``subject`` or an ``artifactType``, a config that is not an
image config, an index of artifacts only; ``oci/artifact.py``) are recorded as *seen* — the tag's
head moves, so the poller does not look again — logged once, and are not submissions. Telling an
artifact from an image needs the manifest itself: it is read by digest (capped) when a tag comes
to point at a digest it did not point at just before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from imagegolf.contest import derived
from imagegolf.contest.model import Contest
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.clock import Moment, later, now, parse_time, stored_time
from imagegolf.db.records import EventKind, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.errors import DigestMismatchError, LimitExceededError
from imagegolf.oci.artifact import artifact_reason, sidecar_tag
from imagegolf.registry import NotFound, RegistryClient

_log = logging.getLogger(__name__)
HOUR_S = 3600.0
NOT_AN_ENTRY = "not an entry"


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
    at: Moment | None = None,
    registry: RegistryClient | None = None,
) -> Intake:
    """Record that ``tag`` points at ``digest``: a new submission, or why not.

    ``registry`` reads the manifest of a new (tag, digest) to tell an image from an artifact; its
    errors propagate (the poller tries again at its next look), except a manifest gone since
    (not recorded) or one over the cap (a submission: the judge refuses it with the reason).
    Without one (a web app served without a registry client), only tag names are told apart.
    """
    seen = stored_time(at or now())  # pinned: the tie-break
    moment = parse_time(seen)
    entrant = contest.entrant_for(tag)
    if entrant is not None:
        known = db.run(lambda tx: q.push_seen(tx, contest.id, tag, digest), write=False)
        if known == "seen":  # looked at before: not an entry, already logged
            _log.debug("%s:%s → %s: already seen, not an entry", contest.watched, tag, digest)
            return Intake(tag, digest, None, None, f"{NOT_AN_ENTRY}: already seen")
        if known is None:
            try:
                reason = _not_an_entry(contest, tag, digest, registry)
            except NotFound:
                note = "gone from the registry before its manifest could be read: not recorded"
                _log.info("%s:%s → %s: %s", contest.watched, tag, digest, note)
                return Intake(tag, digest, None, None, note)
            if reason is not None:
                return _record_not_an_entry(db, contest, tag, digest, reason, seen)

    def write(tx: Transaction) -> Intake:
        q.set_tag_head(tx, contest.id, tag, digest, seen)
        if entrant is None:
            return Intake(tag, digest, None, None, f"tag {tag!r} does not match the entrant pattern: ignored")
        submission_id = q.insert_submission(tx, contest.id, entrant, tag, digest, seen, via)
        if submission_id is None:
            return Intake(tag, digest, None, entrant, "already submitted")
        submission = SubmissionRow(submission_id, contest.id, entrant, tag, Digest.parse(digest), moment, via)
        data = {"tag": tag, "entrant": entrant, "via": via}
        derived.record(tx, contest, EventKind.SUBMITTED, actor, data, submission=submission, at=seen)
        problem = contest.window_problem(moment)
        if problem:
            derived.record(
                tx, contest, EventKind.OUTSIDE_WINDOW, actor, {"reason": problem}, submission=submission
            )
            return Intake(tag, digest, submission_id, entrant, f"not judged: {problem}")
        not_before = _rate_limit(tx, contest, entrant, seen)
        if not_before != seen:
            limited = {"not_before": not_before, "limit": contest.limits["per_entrant_per_hour"]}
            derived.record(tx, contest, EventKind.RATE_LIMITED, actor, limited, submission=submission)
        q.insert_job(tx, submission_id, not_before)
        note = "queued" if not_before == seen else f"queued, rate-limited until {not_before}"
        return Intake(tag, digest, submission_id, entrant, note)

    intake = db.run(write)
    _log.info("%s:%s → %s: %s", contest.watched, tag, digest, intake.note)
    return intake


def _not_an_entry(contest: Contest, tag: str, digest: str, registry: RegistryClient | None) -> str | None:
    """Why (tag, digest) is not an entry (a sidecar tag, an artifact), or None: a submission."""
    by_name = sidecar_tag(tag)
    if by_name is not None:
        return by_name
    if registry is None:
        return None
    return _read_and_classify(registry, contest, digest)


def _read_and_classify(registry: RegistryClient, contest: Contest, digest: str) -> str | None:
    try:
        raw, media_type = registry.get_manifest(contest.repository, digest)
    except (LimitExceededError, DigestMismatchError) as error:  # the judge refuses it, saying why
        _log.info("%s@%s: manifest not classified (%s): left to the judge", contest.watched, digest, error)
        return None
    return artifact_reason(raw, media_type)


def _record_not_an_entry(
    db: Database, contest: Contest, tag: str, digest: str, reason: str, seen: str
) -> Intake:
    """Remember (tag, digest) as seen (the tag's head) so no one looks again; log it once."""
    moved = db.run(lambda tx: q.move_tag_head(tx, contest.id, tag, digest, seen))
    note = f"{NOT_AN_ENTRY}: {reason}"
    if moved:
        _log.info("%s:%s → %s: %s", contest.watched, tag, digest, note)
    return Intake(tag, digest, None, None, note)


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
