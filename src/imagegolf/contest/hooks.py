"""A registry's push notifications, as tag pushes: distribution, GitLab, Quay, Harbor, Docker Hub.

Pure: the request body in, values out. :func:`read_envelope` tells the format by the document's
shape, tried in this order:

``{"events": [...]}`` — **distribution** (CNCF ``registry``, Debian's ``docker-registry``,
  ``notifications/event.go``), sent as ``application/vnd.docker.distribution.events.v1+json``
  (distribution 3.x says ``v2+json`` for the same fields). An event that matters looks like::

    {"action": "push", "actor": {"name": "alice"},
     "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": "sha256:…", "repository": "contest", "tag": "alice",
                "url": "http://…/v2/contest/manifests/sha256:…"}, …}

  Only ``push`` events of a *manifest* that carry a ``tag`` name a submission: blob pushes and
  mounts (layers, configs), pulls, deletes and pushes by digest (no tag) do not. ``{}`` is an
  empty envelope (distribution omits an empty list). **GitLab**'s container registry is a fork
  of distribution and sends the same envelope; GitLab has no push webhook of its own for the
  registry. Its events add ``actor.user_type``, ``actor.user`` (a JWT) and ``meta``: an
  envelope with any of them is labelled ``gitlab`` and read exactly like distribution's.
``{"updated_tags": [...], "repository": "ns/name", …}`` — **Quay**'s ``repo_push`` webhook: one
  push per tag, no digest and no pusher.
``{"push_data": {"tag", "pusher", …}, "repository": {"repo_name", …}, "callback_url"}`` —
  **Docker Hub**'s webhook: one push, no digest.
``{"type": "PUSH_ARTIFACT", "operator", "event_data": {"resources": [...], "repository": {...}}}``
  — **Harbor**'s webhook in its ``Default`` format, or the same ``event_data`` as the ``data`` of
  a CloudEvent ``{"specversion": "1.0", "type": "harbor.artifact.pushed", "operator", …}``
  (``application/cloudevents+json``): one push per resource that names a tag.

A push is ``Push(repository, tag, digest, actor, source)``: the repository as the registry names
it (its path, no host), the tag, the manifest digest (None where the format names none: Quay and
Docker Hub, whose tag the contest resolves against the registry itself), who pushed where the
format says, and which format said it. A body that is not JSON, not an object, or of none of these
shapes is a :class:`BadInputError`; one odd event or field inside a good document skips that
push with a reason (a bad tag, digest or repository name), because registries re-send a
notification until they get a 2xx answer. Every body goes through json_input's caps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from imagegolf.errors import BadInputError
from imagegolf.json_input import parse_json

EVENTS_MEDIA_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",  # distribution 2.x (Debian's docker-registry)
    "application/vnd.docker.distribution.events.v2+json",  # distribution 3.x
    "application/cloudevents+json",  # Harbor's CloudEvents format (the others send application/json)
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
SOURCES = ("distribution", "gitlab", "quay", "harbor", "dockerhub")
_NO_DIGEST = frozenset({"quay", "dockerhub"})  # formats that name no digest: the contest resolves the tag
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the distribution spec's tag grammar
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# distribution's repository name (reference/regexp.go): path components of lower-case letters and
# digits joined by '.', '_', '__' or dashes, separated by '/'; 255 characters at most in all.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REPOSITORY_MAX = 255
_ACTOR_MAX = 255
_SHOWN = 140  # at most this much of a sender's text in a reason or an event id


class Push(NamedTuple):
    """A tag pushed to point at a manifest (``digest`` None where the notification names none)."""

    repository: str
    tag: str
    digest: str | None
    actor: str | None = None  # the account that pushed, where the notification says
    source: str = "distribution"  # one of SOURCES: which format the notification came in


@dataclass(frozen=True)
class Skipped:
    """An event that names no tag push, and why (for the hook's reply and logs)."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class Envelope:
    events: int  # how many events (tags, resources) the notification held: len(pushes) + len(skipped)
    pushes: tuple[Push, ...]  # tag pushes, in notification order, any repository
    skipped: tuple[Skipped, ...]
    source: str = "distribution"  # one of SOURCES

    def for_repository(self, repository: str) -> list[Push]:
        return [p for p in self.pushes if p.repository == repository]


FORMATS_HINT = (
    'send a distribution (or GitLab registry) events envelope {"events": [...]}, a Quay repo_push '
    'notification {"updated_tags": [...], "repository": ...}, a Harbor webhook {"type": '
    '"PUSH_ARTIFACT", "event_data": ...} or CloudEvent {"specversion": "1.0", "type": '
    '"harbor.artifact.pushed", "data": ...}, or a Docker Hub webhook {"push_data": ..., '
    '"repository": ...}'
)
ENVELOPE_HINT = FORMATS_HINT


def read_envelope(body: bytes) -> Envelope:
    """The tag pushes in a notification of any format above, told apart by its shape."""
    # The caps every body from strangers gets (depth, digits, standard JSON): json_input.py.
    document = parse_json(body, what="the notification", hint=ENVELOPE_HINT)
    if not isinstance(document, dict):
        raise BadInputError("the notification is not a JSON object", hint=FORMATS_HINT)
    reader = _reader_for(document)
    if reader is None:
        keys = ", ".join(repr(_clip(str(k), 40)) for k in list(document)[:8])
        raise BadInputError(f"the notification is of no format understood (keys: {keys})", hint=FORMATS_HINT)
    return reader(document)


def tagged_pushes(body: bytes, repository: str | None = None) -> list[Push]:
    """Each tag push in the notification, of ``repository`` if given."""
    envelope = read_envelope(body)
    return list(envelope.pushes) if repository is None else envelope.for_repository(repository)


_Reader = Callable[[dict[str, Any]], Envelope]


def _reader_for(document: dict[str, Any]) -> _Reader | None:
    if "events" in document or not document:  # {}: distribution's empty envelope (omitempty)
        return _read_distribution
    if "updated_tags" in document:
        return _read_quay
    if "push_data" in document:
        return _read_dockerhub
    kind = document.get("type")
    if "specversion" in document and isinstance(kind, str) and kind.startswith("harbor."):
        return _read_harbor_cloudevent
    if "event_data" in document and isinstance(kind, str):
        return _read_harbor_default
    return None


class _Collector:
    """Pushes and skipped items, in order; the envelope they make."""

    def __init__(self) -> None:
        self.pushes: list[Push] = []
        self.skipped: list[Skipped] = []

    def add(self, event_id: str, push: Push | None, reason: str) -> None:
        if push is not None:
            self.pushes.append(push)
        else:
            self.skipped.append(Skipped(_clip(event_id, _SHOWN) or "#?", reason))

    def envelope(self, source: str) -> Envelope:
        return Envelope(len(self.pushes) + len(self.skipped), tuple(self.pushes), tuple(self.skipped), source)


# --- distribution and GitLab -------------------------------------------------------------------
# Envelope and event fields: https://distribution.github.io/distribution/about/notifications
# (distribution notifications/event.go). GitLab: its container registry sends these envelopes
# (https://docs.gitlab.com/ee/administration/packages/container_registry.html#configure-container-registry-notifications);
# GitLab's webhook events (https://docs.gitlab.com/user/project/integrations/webhook_events)
# include none for the container registry. GitLab's fork adds actor.user_type, actor.user (a JWT)
# and meta (gitlab-org/container-registry notifications/event.go); an example envelope is in
# https://gitlab.com/gitlab-org/gitlab/-/merge_requests/107918.


def _read_distribution(document: dict[str, Any]) -> Envelope:
    events = document.get("events", [])  # distribution omits an empty list (omitempty)
    if not isinstance(events, list):
        raise BadInputError("the notification's 'events' is not a list", hint=ENVELOPE_HINT)
    source = "gitlab" if any(_is_gitlab_event(e) for e in events) else "distribution"
    found = _Collector()
    for index, event in enumerate(events):
        push, reason = _read_event(event, source)
        event_id = event.get("id", "") if isinstance(event, dict) else ""
        found.add(_text(event_id) or f"#{index}", push, reason)
    return found.envelope(source)


def _is_gitlab_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    actor = event.get("actor")
    return "meta" in event or (isinstance(actor, dict) and ("user_type" in actor or "user" in actor))


def _read_event(event: Any, source: str) -> tuple[Push | None, str]:
    if not isinstance(event, dict):
        return None, "not a JSON object"
    action = event.get("action")
    if action != "push":
        return None, f"action {_shown(action)}, not a push"
    target = event.get("target")
    if not isinstance(target, dict):
        return None, "no target"
    if not _is_manifest(target):
        media_type = target.get("mediaType")
        return None, f"a blob push ({_clip(_text(media_type), _SHOWN) or 'no media type'}), not a manifest"
    if not target.get("tag"):
        return None, "a manifest pushed by digest: no tag"
    actor = event.get("actor")
    name = actor.get("name") if isinstance(actor, dict) else None
    return _push(target.get("repository"), target.get("tag"), target.get("digest"), name, source)


def _is_manifest(target: dict[str, Any]) -> bool:
    """A manifest by its media type; or, for a type not listed, by the URL distribution built."""
    media_type = target.get("mediaType")
    if isinstance(media_type, str) and media_type in MANIFEST_MEDIA_TYPES:
        return True
    url = target.get("url")
    return isinstance(url, str) and "/manifests/" in url


# --- Quay ----------------------------------------------------------------------------------------
# The repo_push notification: https://docs.redhat.com/en/documentation/red_hat_quay/3.8/html/use_red_hat_quay/repository_notifications
# ("Repository Push": name, repository "namespace/name", namespace, docker_url, homepage,
# updated_tags). Quay builds it in quay/quay notifications/__init__.py
# (build_repository_event_data) and posts that event data as the webhook's body; it names no
# digest and no pusher.


def _read_quay(document: dict[str, Any]) -> Envelope:
    tags = document.get("updated_tags")
    if not isinstance(tags, list):
        raise BadInputError("the Quay notification's 'updated_tags' is not a list", hint=FORMATS_HINT)
    found = _Collector()
    repository = document.get("repository")
    for index, tag in enumerate(tags):
        push, reason = _push(repository, tag, None, None, "quay")
        found.add(f"updated_tags[{index}]", push, reason)
    return found.envelope("quay")


# --- Docker Hub ----------------------------------------------------------------------------------
# https://docs.docker.com/docker-hub/repos/manage/webhooks/ ("Example webhook payload":
# callback_url, push_data {pushed_at, pusher, tag}, repository {repo_name "namespace/name", name,
# namespace, …}). One tag a notification, no digest.


def _read_dockerhub(document: dict[str, Any]) -> Envelope:
    push_data = document.get("push_data")
    if not isinstance(push_data, dict):
        raise BadInputError("the Docker Hub notification's 'push_data' is not an object", hint=FORMATS_HINT)
    repository = document.get("repository")
    repo_name = repository.get("repo_name") if isinstance(repository, dict) else None
    found = _Collector()
    tag = push_data.get("tag")
    if not tag:
        found.add("push_data", None, "no tag")
    else:
        push, reason = _push(repo_name, tag, None, push_data.get("pusher"), "dockerhub")
        found.add("push_data", push, reason)
    return found.envelope("dockerhub")


# --- Harbor --------------------------------------------------------------------------------------
# https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/
# (PUSH_ARTIFACT: type, occur_at, operator, event_data {resources [{digest, tag, resource_url}],
# repository {name, namespace, repo_full_name, repo_type, date_created}}; payload formats
# "Default" and "CloudEvents"). The CloudEvent (goharbor/harbor src/pkg/notifier/formats/
# cloudevents.go) carries the same event_data as its data, the type "harbor.artifact.pushed" and
# the operator as an extension attribute. Harbor sends one resource, with the pushed tag or, for a
# push by digest, the digest itself as its "tag" (src/controller/event/handler/webhook/artifact).

_HARBOR_PUSH = "PUSH_ARTIFACT"
_HARBOR_CLOUDEVENT_PUSH = "harbor.artifact.pushed"


def _read_harbor_default(document: dict[str, Any]) -> Envelope:
    return _read_harbor(document, document.get("event_data"), _HARBOR_PUSH, "")


def _read_harbor_cloudevent(document: dict[str, Any]) -> Envelope:
    return _read_harbor(document, document.get("data"), _HARBOR_CLOUDEVENT_PUSH, _text(document.get("id")))


def _read_harbor(document: dict[str, Any], data: Any, push_type: str, event_id: str) -> Envelope:
    kind = document.get("type")
    found = _Collector()
    if kind != push_type:
        found.add(event_id or "type", None, f"type {_shown(kind)}, not {push_type}")
        return found.envelope("harbor")
    if not isinstance(data, dict):
        raise BadInputError("the Harbor notification's event data is not an object", hint=FORMATS_HINT)
    resources = data.get("resources")
    if not isinstance(resources, list):
        raise BadInputError("the Harbor notification's 'resources' is not a list", hint=FORMATS_HINT)
    repository = data.get("repository")
    full_name = repository.get("repo_full_name") if isinstance(repository, dict) else None
    prefix = f"{event_id} " if event_id else ""
    for index, resource in enumerate(resources):
        push, reason = _read_harbor_resource(resource, full_name, document.get("operator"))
        found.add(f"{prefix}resources[{index}]", push, reason)
    return found.envelope("harbor")


def _read_harbor_resource(resource: Any, repository: Any, operator: Any) -> tuple[Push | None, str]:
    if not isinstance(resource, dict):
        return None, "not a JSON object"
    tag, digest = resource.get("tag"), resource.get("digest")
    if not tag or tag == digest or (isinstance(tag, str) and tag.startswith("sha256:")):
        return None, "an artifact pushed by digest: no tag"
    return _push(repository, tag, digest, operator, "harbor")


# --- every format --------------------------------------------------------------------------------


def _push(repository: Any, tag: Any, digest: Any, actor: Any, source: str) -> tuple[Push | None, str]:
    """A validated push, or why not. Quay and Docker Hub name no digest; the others must."""
    if not isinstance(repository, str) or not repository:
        return None, "no repository"
    if len(repository) > _REPOSITORY_MAX or not _REPOSITORY.fullmatch(repository):
        return None, f"not a repository name: {_shown(repository)}"
    if not tag:
        return None, "no tag"
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        return None, f"not a valid tag: {_shown(tag)}"
    names_digest = source not in _NO_DIGEST
    if names_digest and (not isinstance(digest, str) or not _DIGEST.fullmatch(digest)):
        return None, f"not a sha256 digest: {_shown(digest)}"
    return Push(repository, tag, digest if names_digest else None, _actor(actor), source), ""


def _actor(name: Any) -> str | None:
    """An account name, or None: empty, not text, too long or with control characters."""
    if not isinstance(name, str) or not name or len(name) > _ACTOR_MAX or not name.isprintable():
        return None
    return name


def _text(value: Any) -> str:
    """A scalar the sender gave as an id, as text ('' for anything else)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(value: Any) -> str:
    """A sender's value in a reason: its repr, cut short (a 1 MiB tag is not echoed back)."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    return _clip(repr(value), _SHOWN)


__all__ = [
    "ENVELOPE_HINT",
    "EVENTS_MEDIA_TYPES",
    "FORMATS_HINT",
    "MANIFEST_MEDIA_TYPES",
    "SOURCES",
    "Envelope",
    "Push",
    "Skipped",
    "read_envelope",
    "tagged_pushes",
]
