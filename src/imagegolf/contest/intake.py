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

Who the entrant is depends on the contest's identity (docs/contest.md, "Who is who"):

- ``tag``: the tag names the entrant (the entrant pattern and map); whoever can push is trusted;
- ``registry-user``: the registry account that pushed (the notification's ``actor.name``) is the
  entrant when it is one of the contest's accounts; the tag is only a label. A push by any other
  account, or one whose notification names none, is a submission with status NOT_AN_ENTRANT, never
  judged. The poller cannot see who pushed, so in this mode only notifications create submissions;
- per-entrant repositories: the repository ``REPOSITORY/NAME`` names the entrant (only NAME can push
  there: the registry asks imagegolf's token server); the stored tag is ``NAME:TAG``.

A notification is checked with the registry before anything is recorded (:func:`confirm_push`):
the repository must hold the digest under the tag. A notification the registry does not confirm
creates nothing and is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imagegolf.contest import accounts, derived
from imagegolf.contest.model import Contest, Identity
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.clock import Moment, later, now, parse_time, stored_time
from imagegolf.db.records import EventKind, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, DigestMismatchError, LimitExceededError
from imagegolf.oci.artifact import artifact_reason, sidecar_tag
from imagegolf.registry import NotFound, RegistryClient
from imagegolf.registry.protocol import NotModified

_log = logging.getLogger(__name__)
HOUR_S = 3600.0
NOT_AN_ENTRY = "not an entry"
NO_ACCOUNT = "(no account)"  # the entrant column of a push whose notification names no account:
# never an account's name, which may not hold parentheses or spaces (accounts.check_name)


class NotConfirmed(BadInputError):
    """The registry does not hold what a notification says was pushed: nothing is recorded."""


@dataclass(frozen=True)
class Who:
    """Whose push this is: the stored tag (a label), the entrant, and why it is not judged."""

    label: str
    entrant: str | None  # None: the tag matches no entrant (identity tag): ignored
    not_entrant: str | None = None  # set: recorded as NOT_AN_ENTRANT with this reason


def whose(db: Database, contest: Contest, tag: str, *, repository: str, pusher: str | None) -> Who:
    """Who a push of ``repository:tag`` by ``pusher`` (the registry account, if known) belongs to."""
    if contest.per_entrant:
        owner = contest.entrant_of_repository(repository)
        assert owner is not None, repository  # callers pass the contest's repositories only
        label = f"{owner}:{tag}"
        if not accounts.is_entrant(db, contest, owner):
            return Who(label, owner, f"{repository} belongs to no entrant account")
        return Who(label, owner)
    if contest.identity is Identity.REGISTRY_USER:
        if not pusher:
            return Who(tag, NO_ACCOUNT, "the registry did not say which account pushed it")
        if not accounts.is_entrant(db, contest, pusher):
            return Who(tag, pusher, f"pushed by registry account {pusher!r}, which is not an entrant")
        return Who(tag, pusher)
    return Who(tag, contest.entrant_for(tag))


# distribution sends a manifest's push notification before it writes the tag: PutManifest stores
# the manifest (notifications/listener.go's manifestServiceListener.Put queues the event), then
# tags it (registry/handlers/manifests.go, v2.8.2). A tag not (yet) naming a digest the repository
# holds is asked again for this long before the notification counts as not confirmed.
TAG_SETTLE_S = (0.1, 0.2, 0.4, 0.8, 1.5)


def confirm_push(
    registry: RegistryClient,
    repository: str,
    tag: str,
    digest: str | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The digest ``repository:tag`` names, which must be ``digest`` when one is given.

    A notification is a claim; the registry is the truth. Raises :class:`NotConfirmed` when the
    repository does not hold ``digest`` (a forged claim) or the tag does not come to name it (the
    tag moved on since: its own notification records the new one); a registry that cannot be
    reached raises its own error (the sender should try again).
    """
    found = _tag_head(registry, repository, tag)
    if digest is None or found == digest:
        if found is None:
            raise NotConfirmed(f"the registry has no manifest {repository}:{tag}")
        return found
    if registry.head_manifest_if_changed(repository, digest, None) is None:
        raise NotConfirmed(
            f"the registry has no manifest {repository}@{digest[:19]}…: the notification is forged"
        )
    for pause in TAG_SETTLE_S:
        sleep(pause)
        found = _tag_head(registry, repository, tag)
        if found == digest:
            return found
    now = f"names {found[:19]}…" if found else "is gone"
    raise NotConfirmed(
        f"{repository}:{tag} {now}, not {digest[:19]}…: the tag moved on since (its own "
        "notification records the new one), or the notification is forged"
    )


def _tag_head(registry: RegistryClient, repository: str, tag: str) -> str | None:
    head = registry.head_manifest_if_changed(repository, tag, None)
    assert not isinstance(head, NotModified)  # no condition was sent
    return None if head is None else str(head[0])


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
    repository: str | None = None,
    pusher: str | None = None,
) -> Intake:
    """Record that ``tag`` points at ``digest``: a new submission, or why not.

    ``repository``: where it was pushed (default the contest's shared one); ``pusher``: the
    registry account that pushed it, when a notification says (identity ``registry-user``).

    ``registry`` reads the manifest of a new (tag, digest) to tell an image from an artifact; its
    errors propagate (the poller tries again at its next look), except a manifest gone since
    (not recorded) or one over the cap (a submission: the judge refuses it with the reason).
    Without one (a web app served without a registry client), only tag names are told apart.
    """
    seen = stored_time(at or now())  # pinned: the tie-break
    moment = parse_time(seen)
    where = repository or contest.repository
    who = whose(db, contest, tag, repository=where, pusher=pusher)
    label, entrant = who.label, who.entrant
    if entrant is not None and who.not_entrant is None:
        known = db.run(lambda tx: q.push_seen(tx, contest.id, label, digest), write=False)
        if known == "seen":  # looked at before: not an entry, already logged
            _log.debug("%s:%s → %s: already seen, not an entry", contest.watched, label, digest)
            return Intake(label, digest, None, None, f"{NOT_AN_ENTRY}: already seen")
        if known is None:
            try:
                reason = _not_an_entry(where, tag, digest, registry)
            except NotFound:
                note = "gone from the registry before its manifest could be read: not recorded"
                _log.info("%s:%s → %s: %s", contest.watched, label, digest, note)
                return Intake(label, digest, None, None, note)
            if reason is not None:
                return _record_not_an_entry(db, contest, label, digest, reason, seen)

    def write(tx: Transaction) -> Intake:
        q.set_tag_head(tx, contest.id, label, digest, seen)
        if entrant is None:
            ignored = f"tag {tag!r} does not match the entrant pattern: ignored"
            return Intake(label, digest, None, None, ignored)
        submission_id = q.insert_submission(tx, contest.id, entrant, label, digest, seen, via)
        if submission_id is None:
            return Intake(label, digest, None, entrant, "already submitted")
        submission = SubmissionRow(
            submission_id, contest.id, entrant, label, Digest.parse(digest), moment, via
        )
        data: dict[str, Any] = {"tag": label, "entrant": entrant, "via": via}
        if pusher:
            data["pusher"] = pusher
        derived.record(tx, contest, EventKind.SUBMITTED, actor, data, submission=submission, at=seen)
        if who.not_entrant is not None:
            refused = {"reason": who.not_entrant}
            derived.record(tx, contest, EventKind.NOT_AN_ENTRANT, actor, refused, submission=submission)
            return Intake(label, digest, submission_id, entrant, f"not judged: {who.not_entrant}")
        problem = contest.window_problem(moment)
        if problem:
            derived.record(
                tx, contest, EventKind.OUTSIDE_WINDOW, actor, {"reason": problem}, submission=submission
            )
            return Intake(label, digest, submission_id, entrant, f"not judged: {problem}")
        not_before = _rate_limit(tx, contest, entrant, seen)
        if not_before != seen:
            limited = {"not_before": not_before, "limit": contest.limits["per_entrant_per_hour"]}
            derived.record(tx, contest, EventKind.RATE_LIMITED, actor, limited, submission=submission)
        q.insert_job(tx, submission_id, not_before)
        note = "queued" if not_before == seen else f"queued, rate-limited until {not_before}"
        return Intake(label, digest, submission_id, entrant, note)

    intake = db.run(write)
    _log.info("%s:%s → %s: %s", contest.watched, label, digest, intake.note)
    return intake


def record_notified(
    db: Database,
    contest: Contest,
    repository: str,
    tag: str,
    digest: str | None,
    *,
    pusher: str | None,
    registry: RegistryClient,
    actor: str,
) -> Intake:
    """A push a notification told of: confirmed with the registry (:func:`confirm_push`), then
    recorded as a poll would. Raises :class:`NotConfirmed` (nothing recorded) when the registry does
    not hold ``digest`` under ``tag``; ``digest`` None (Quay, Docker Hub name tags only): whatever
    the tag names now."""
    try:
        confirmed = confirm_push(registry, repository, tag, digest)
    except NotConfirmed as error:
        _log.warning("%s/%s:%s: notification not confirmed, nothing recorded: %s",
                     contest.registry, repository, tag, error)  # fmt: skip
        raise
    return record_push(
        db, contest, tag, confirmed, via="hook", actor=actor, registry=registry,
        repository=repository, pusher=pusher,
    )  # fmt: skip


def _not_an_entry(repository: str, tag: str, digest: str, registry: RegistryClient | None) -> str | None:
    """Why (tag, digest) is not an entry (a sidecar tag, an artifact), or None: a submission."""
    by_name = sidecar_tag(tag)
    if by_name is not None:
        return by_name
    if registry is None:
        return None
    return _read_and_classify(registry, repository, digest)


def _read_and_classify(registry: RegistryClient, repository: str, digest: str) -> str | None:
    try:
        raw, media_type = registry.get_manifest(repository, digest)
    except (LimitExceededError, DigestMismatchError) as error:  # the judge refuses it, saying why
        _log.info("%s@%s: manifest not classified (%s): left to the judge", repository, digest, error)
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
