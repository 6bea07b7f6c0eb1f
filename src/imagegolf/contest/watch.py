"""Poll the watched repository: every tag whose digest changed since the last look is a push.

The poll is the safety net under the registry's push notifications (``POST /hooks/registry``):
both go through ``record_push``, which keeps one submission per (tag, digest). A registry that
is down is logged and tried again at the next interval; nothing is lost, as tags stay in it.

A tag that is not an entry (a cosign sidecar tag, an OCI artifact: ``oci/artifact.py``) is
recorded as seen by ``record_push`` and logged there once: its head no longer differs, so later
polls neither log it nor read its manifest again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.model import Contest
from imagegolf.db import Database
from imagegolf.db import queries as q
from imagegolf.errors import ImagegolfError
from imagegolf.registry import NotFound, RegistryClient

_log = logging.getLogger(__name__)


def poll_once(db: Database, contest: Contest, registry: RegistryClient) -> list[Intake]:
    """One look at the repository's tags; the new (tag, digest) pairs recorded, in tag order."""
    try:
        tags = registry.list_tags(contest.repository)
    except NotFound:
        return []  # nobody has pushed yet: the repository does not exist
    known = db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)
    intakes: list[Intake] = []
    for tag in sorted(tags):
        head = registry.head_manifest(contest.repository, tag)
        if head is None:
            continue  # deleted between the listing and now
        digest = str(head[0])
        if known.get(tag) != digest:
            intakes.append(record_push(db, contest, tag, digest, via="poll", registry=registry))
    return intakes


def watch(
    db: Database,
    contest: Contest,
    registry: RegistryClient,
    *,
    interval_s: float,
    stop: threading.Event,
    on_intake: Callable[[Intake], None] | None = None,
) -> None:
    """Poll every ``interval_s`` until ``stop`` is set; registry trouble is logged, not fatal."""
    failing = False
    while not stop.is_set():
        try:
            for intake in poll_once(db, contest, registry):
                if on_intake:
                    on_intake(intake)
            if failing:
                _log.warning("the registry %s answers again", contest.registry)
            failing = False
        except ImagegolfError as error:
            if not failing:
                _log.warning(
                    "cannot list %s: %s; trying again every %.0f s", contest.watched, error, interval_s
                )
            failing = True
        stop.wait(interval_s)
