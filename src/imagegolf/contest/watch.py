"""Poll the watched repository: every tag whose digest changed since the last look is a push.

The poll is the safety net under the registry's push notifications (``POST /hooks/registry``):
both go through ``record_push``, which keeps one submission per (tag, digest). A registry that
is down is logged and tried again at the next interval; nothing is lost, as tags stay in it.

A poll lists the tags, then HEADs every tag's manifest, ``workers`` at a time (one shared
:class:`RegistryClient`: see below), each HEAD with the client's own retries and timeouts. A tag
whose head is known is asked with ``If-None-Match: "<known digest>"``: distribution answers 304
(no digest, no manifest read) while the tag still names it. The results are recorded in the main
thread in tag order, as they would be one after another: the first-seen order of pushes seen by
one poll is the tags' sorted order, whatever order the HEADs finish in. A HEAD that fails ends the
poll there, as it did when the HEADs ran one by one: the tags before it are recorded, the HEADs
still queued are cancelled, and the error goes to the caller (``watch`` logs it and polls again
at the next interval); the tags from the failed one on are looked at again by the next poll.

Sharing the client across threads: the transport keeps its connections in a thread-safe pool
(registry/http.py, ``POOL_SIZE`` = 10 idle per origin: ``MAX_POLL_WORKERS``, so none is opened
only to be discarded); it keeps no other state that changes per request. The Authenticator's
token cache is a dict filled by whole entries: two threads that find no token both fetch one,
and either is good. The tag listing comes first, so the transport's scheme and the repository's
pull token are settled before any worker starts.

Which repositories are polled depends on who the entrants are (contest/intake.py): the shared
repository; with per-entrant repositories, every entrant account's ``REPOSITORY/NAME`` one after
another (a tag is known by its label ``NAME:TAG``); with identity ``registry-user`` on a shared
repository, none: a poll cannot see which account pushed, so only notifications create
submissions there (:func:`polled` says why).

A tag that is not an entry (a cosign sidecar tag, an OCI artifact: ``oci/artifact.py``) is
recorded as seen by ``record_push`` and logged there once: its head no longer differs, so later
polls neither log it nor read its manifest again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from imagegolf.contest import accounts
from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.model import Contest, Identity
from imagegolf.contest.reads import reload
from imagegolf.db import Database
from imagegolf.db import queries as q
from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, ImagegolfError, UsageError
from imagegolf.registry import NotFound, RegistryClient
from imagegolf.registry.protocol import NotModified

_log = logging.getLogger(__name__)

DEFAULT_POLL_WORKERS = 8
MAX_POLL_WORKERS = 10  # the registry client's idle connections per origin (registry/http.py POOL_SIZE)

Head = tuple[Digest, str, int] | NotModified | None


@dataclass
class PollStats:
    """What one poll did, for logs and benchmarks: every listed tag is counted once."""

    tags: int = 0
    not_modified: int = 0  # 304 to If-None-Match
    unchanged: int = 0  # 200, the digest already known (no condition sent, or one the registry ignored)
    changed: int = 0  # a digest not known for the tag: handed to record_push
    missing: int = 0  # deleted between the listing and its HEAD
    seconds: float = 0.0


def poll_once(
    db: Database,
    contest: Contest,
    registry: RegistryClient,
    *,
    workers: int = DEFAULT_POLL_WORKERS,
    conditional: bool = True,
    stats: PollStats | None = None,
    on_intake: Callable[[Intake], None] | None = None,
) -> list[Intake]:
    """One look at the repository's tags; the new (tag, digest) pairs recorded, in tag order.

    ``workers`` HEADs run at once (1: one after another, in this thread); ``conditional`` sends
    the known digest as If-None-Match. ``on_intake`` sees each intake as it is recorded (also
    those recorded before a failed HEAD ends the poll); ``stats``, if given, is filled in.
    """
    _check_workers(workers)
    counts = stats if stats is not None else PollStats()
    started = time.perf_counter()
    try:
        return _poll(db, contest, registry, workers, conditional, counts, on_intake)
    finally:
        counts.seconds = time.perf_counter() - started


POLL_OFF = (
    "identity registry-user: a poll cannot tell which account pushed a tag, so submissions come "
    "from the registry's notifications only (POST /hooks/registry)"
)


def polled(db: Database, contest: Contest) -> list[tuple[str, str | None]]:
    """The (repository, owner) pairs a poll looks at: owner None for the shared repository."""
    if contest.per_entrant:
        return [(contest.entrant_repository(name), name) for name in accounts.entrants(db, contest)]
    if contest.identity is Identity.REGISTRY_USER:
        return []
    return [(contest.repository, None)]


def _poll(
    db: Database,
    contest: Contest,
    registry: RegistryClient,
    workers: int,
    conditional: bool,
    counts: PollStats,
    on_intake: Callable[[Intake], None] | None,
) -> list[Intake]:
    intakes: list[Intake] = []
    for repository, owner in polled(db, contest):
        intakes += _poll_repository(
            db, contest, registry, repository, owner, workers, conditional, counts, on_intake
        )
    return intakes


def _poll_repository(
    db: Database,
    contest: Contest,
    registry: RegistryClient,
    repository: str,
    owner: str | None,
    workers: int,
    conditional: bool,
    counts: PollStats,
    on_intake: Callable[[Intake], None] | None,
) -> list[Intake]:
    try:
        tags = registry.list_tags(repository)
    except NotFound:
        return []  # nobody has pushed yet: the repository does not exist
    heads = db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)
    prefix = f"{owner}:" if owner else ""  # per-entrant: tags are known as NAME:TAG
    known = {tag[len(prefix) :]: str(digest) for tag, digest in heads.items() if tag.startswith(prefix)}
    ordered = sorted(tags)
    counts.tags += len(ordered)

    def look(tag: str) -> Head:
        condition = _digest_or_none(known.get(tag)) if conditional else None
        return registry.head_manifest_if_changed(repository, tag, condition)

    intakes: list[Intake] = []

    def record(tag: str, head: Head) -> None:
        if head is None:
            counts.missing += 1  # deleted between the listing and now
        elif isinstance(head, NotModified):
            counts.not_modified += 1
        elif known.get(tag) == str(head[0]):
            counts.unchanged += 1
        else:
            counts.changed += 1
            intake = record_push(
                db, contest, tag, str(head[0]), via="poll", registry=registry, repository=repository
            )
            intakes.append(intake)
            if on_intake:
                on_intake(intake)

    if workers == 1:
        for tag in ordered:
            record(tag, look(tag))
    else:
        _concurrently(ordered, look, record, workers)
    return intakes


def _current(db: Database, contest: Contest) -> Contest:
    try:
        return reload(db, contest)
    except ImagegolfError as error:  # the database is away for a moment: poll with what we had
        _log.warning("cannot read contest %s again (%s): polling with its last settings", contest.name, error)
        return contest


def _check_workers(workers: int) -> None:
    if not 1 <= workers <= MAX_POLL_WORKERS:
        raise UsageError(f"{workers} poll workers: give between 1 and {MAX_POLL_WORKERS}")


def _concurrently(
    tags: list[str], look: Callable[[str], Head], record: Callable[[str, Head], None], workers: int
) -> None:
    """``look`` at every tag on ``workers`` threads; ``record`` each result here, in tag order."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imagegolf-poll")
    try:
        futures: list[Future[Head]] = [pool.submit(look, tag) for tag in tags]
        for tag, future in zip(tags, futures, strict=True):
            record(tag, future.result())  # a failed HEAD raises here: the tags after it wait
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no HEAD outlives the poll


def _digest_or_none(text: str | None) -> Digest | None:
    if text is None:
        return None
    try:
        return Digest.parse(text)
    except BadInputError:
        return None  # not a digest we can name: ask without a condition


def watch(
    db: Database,
    contest: Contest,
    registry: RegistryClient,
    *,
    interval_s: float,
    stop: threading.Event,
    on_intake: Callable[[Intake], None] | None = None,
    workers: int = DEFAULT_POLL_WORKERS,
) -> None:
    """Poll every ``interval_s`` until ``stop`` is set; registry trouble is logged, not fatal.

    The contest is read again before each poll: `contest set` (the window, the identity, the
    per-hour limit) applies from the next poll on, without a restart.
    """
    _check_workers(workers)
    failing = slow = polling_off = False
    while not stop.is_set():
        contest = _current(db, contest)
        off = contest.identity is Identity.REGISTRY_USER and not contest.per_entrant
        if off and not polling_off:
            _log.warning("not polling %s: %s", contest.watched, POLL_OFF)
        polling_off = off
        stats = PollStats()
        try:
            poll_once(db, contest, registry, workers=workers, stats=stats, on_intake=on_intake)
            if failing:
                _log.warning("the registry %s answers again", contest.registry)
            failing = False
        except ImagegolfError as error:
            if not failing:
                _log.warning(
                    "cannot poll %s: %s; trying again every %.0f s", contest.watched, error, interval_s
                )
            failing = True
        _log.debug(
            "polled %s: %d tags, %d not modified, %d unchanged, %d changed, %d gone, in %.2f s",
            contest.watched, stats.tags, stats.not_modified, stats.unchanged, stats.changed,
            stats.missing, stats.seconds,
        )  # fmt: skip
        if stats.seconds > interval_s and not slow:
            _log.warning(
                "polling the %d tags of %s took %.1f s, longer than the %.0f s interval",
                stats.tags, contest.watched, stats.seconds, interval_s,
            )  # fmt: skip
        slow = stats.seconds > interval_s
        stop.wait(interval_s)
