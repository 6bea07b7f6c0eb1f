"""What every request handler shares: the database, the contest (found once), the tokens, and
the conditional-request helpers (ETag / 304) and the cache of rendered answers by version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response

from imagegolf.contest import Contest, Version, open_contest, version
from imagegolf.db import Database
from imagegolf.registry import RegistryClient

RENDERED_KEPT = 64  # rendered answers kept (by version and page): a room of viewers shares one


def quoted(tag: str) -> str:
    return f'"{tag}"'


def not_modified(request: Request, tag: str) -> Response | None:
    """A 304 when the client already holds the answer tagged ``tag`` (RFC 9110 §13.1.2)."""
    held = request.headers.get("if-none-match", "")
    if quoted(tag) in {h.strip().removeprefix("W/") for h in held.split(",")} or held.strip() == "*":
        return Response(status_code=304, headers=cache_headers(tag))
    return None


def variant(tag: str, *parts: object) -> str:
    """The entity tag of one page of an answer: the version's tag and what picks the page, since
    a client that held page 1 must not be told "not modified" for page 2 (RFC 9110 §8.8.3)."""
    return ".".join((tag, *(str(part) for part in parts)))


def cache_headers(tag: str) -> dict[str, str]:
    """Store, but ask again every time: the answer changes with every event."""
    return {"ETag": quoted(tag), "Cache-Control": "no-cache"}


@dataclass
class Site:
    db: Database
    contest_name: str | None = None
    admin_token: str | None = None
    hook_token: str | None = None
    # Reads the manifests the registry's notifications name (an image, or an artifact that is
    # not an entry); None: the hook classifies by tag name only and the judge decides the rest.
    registry: RegistryClient | None = None
    _contest: Contest | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rendered: OrderedDict[Hashable, bytes] = field(default_factory=OrderedDict, repr=False)
    _pending: dict[Hashable, Future[bytes]] = field(default_factory=dict, repr=False)

    def contest(self) -> Contest:
        """The contest, looked up on first use (a server may start before `contest init`)."""
        with self._lock:
            if self._contest is None:
                self._contest = open_contest(self.db, self.contest_name)
            return self._contest

    def version(self) -> Version:
        """The last event id and the queue's counts: index lookups, whatever the history."""
        return version(self.db, self.contest())

    def answer_once(
        self,
        request: Request,
        tag: str,
        render: Callable[[], bytes],
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """304 when the client holds ``tag``; else the answer for ``tag``, rendered once (the tag
        names the version and the page, so it is the cache key too)."""
        unchanged = not_modified(request, tag)
        if unchanged is not None:
            return unchanged
        body = self.rendered((request.url.path, tag), render)
        return Response(body, media_type=media_type, headers={**cache_headers(tag), **(headers or {})})

    def rendered(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The answer for ``key`` (which must include the version it shows), rendered once: the
        viewers who ask while it is being rendered wait for that one render (a room of viewers
        polling after an event would otherwise each render it)."""
        with self._lock:
            if key in self._rendered:
                self._rendered.move_to_end(key)
                return self._rendered[key]
            pending = self._pending.get(key)
            mine = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not mine:
            return pending.result()
        try:
            body = render()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        with self._lock:
            self._rendered[key] = body
            del self._pending[key]
            while len(self._rendered) > RENDERED_KEPT:
                self._rendered.popitem(last=False)
        pending.set_result(body)
        return body
