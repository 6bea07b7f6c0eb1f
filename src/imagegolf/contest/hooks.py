"""The registry's push notifications (distribution's ``notifications:`` webhooks), as tag pushes.

Pure: the request body in, values out. The envelope (distribution ``notifications/event.go``) is
``{"events": [event, …]}``, sent with the media type
``application/vnd.docker.distribution.events.v1+json`` (distribution 2.x; 3.x says ``v2+json``
for the same fields). An event that matters here looks like::

    {"action": "push",
     "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": "sha256:…", "repository": "contest", "tag": "alice",
                "url": "http://…/v2/contest/manifests/sha256:…"}, …}

Only ``push`` events of a *manifest* that carry a ``tag`` name a submission: blob pushes and
mounts (layers, configs), pulls, deletes and pushes by digest (no tag) do not. A malformed
envelope is a :class:`BadInputError`; one odd event inside a good envelope is skipped with a
reason, because distribution re-sends an envelope until it gets a 2xx answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from imagegolf.errors import BadInputError
from imagegolf.json_input import parse_json

EVENTS_MEDIA_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",  # distribution 2.x (Debian's docker-registry)
    "application/vnd.docker.distribution.events.v2+json",  # distribution 3.x
)
MANIFEST_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the distribution spec's tag grammar
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class Push(NamedTuple):
    """A tag pushed to point at a manifest."""

    repository: str
    tag: str
    digest: str


@dataclass(frozen=True)
class Skipped:
    """An event that names no tag push, and why (for the hook's reply and logs)."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class Envelope:
    events: int  # how many events the envelope held
    pushes: tuple[Push, ...]  # tagged manifest pushes, in envelope order, any repository
    skipped: tuple[Skipped, ...]

    def for_repository(self, repository: str) -> list[Push]:
        return [p for p in self.pushes if p.repository == repository]


ENVELOPE_HINT = 'send a distribution events envelope: {"events": [...]}'


def read_envelope(body: bytes) -> Envelope:
    # The caps every body from strangers gets (depth, digits, standard JSON): json_input.py.
    document = parse_json(body, what="the notification", hint=ENVELOPE_HINT)
    if not isinstance(document, dict):
        raise BadInputError("the notification is not a JSON object", hint='expected {"events": [...]}')
    events = document.get("events", [])  # distribution omits an empty list (omitempty)
    if not isinstance(events, list):
        raise BadInputError("the notification's 'events' is not a list")
    pushes: list[Push] = []
    skipped: list[Skipped] = []
    for index, event in enumerate(events):
        push, reason = _read_event(event)
        if push is not None:
            pushes.append(push)
        else:
            event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
            skipped.append(Skipped(event_id or f"#{index}", reason))
    return Envelope(len(events), tuple(pushes), tuple(skipped))


def tagged_pushes(body: bytes, repository: str | None = None) -> list[Push]:
    """The (repository, tag, digest) of each tagged manifest push, of ``repository`` if given."""
    envelope = read_envelope(body)
    return list(envelope.pushes) if repository is None else envelope.for_repository(repository)


def _read_event(event: Any) -> tuple[Push | None, str]:
    if not isinstance(event, dict):
        return None, "not a JSON object"
    action = event.get("action")
    if action != "push":
        return None, f"action {action!r}, not a push"
    target = event.get("target")
    if not isinstance(target, dict):
        return None, "no target"
    if not _is_manifest(target):
        return None, f"a blob push ({target.get('mediaType') or 'no media type'}), not a manifest"
    repository, tag, digest = target.get("repository"), target.get("tag"), target.get("digest")
    if not tag:
        return None, "a manifest pushed by digest: no tag"
    if not isinstance(repository, str) or not repository:
        return None, "no repository"
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        return None, f"not a valid tag: {str(tag)[:140]!r}"
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        return None, f"not a sha256 digest: {str(digest)[:140]!r}"
    return Push(repository, tag, digest), ""


def _is_manifest(target: dict[str, Any]) -> bool:
    """A manifest by its media type; or, for a type not listed, by the URL distribution built."""
    media_type = target.get("mediaType")
    if media_type in MANIFEST_MEDIA_TYPES:
        return True
    url = target.get("url")
    return isinstance(url, str) and "/manifests/" in url


__all__ = ["EVENTS_MEDIA_TYPES", "Envelope", "Push", "Skipped", "read_envelope", "tagged_pushes"]
