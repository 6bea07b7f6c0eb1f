"""What every request handler shares: the database, the contest (found once, read again after
each event: a settings change is one), the tokens, whether the public board is frozen now, and
the conditional-request helpers (ETag / 304) and the caches of what is computed once per version
(rendered answers, the frozen standings)."""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from imagegolf.contest import Board, Contest, Version, open_contest, version
from imagegolf.contest import boards as read_boards
from imagegolf.contest.frozen import FrozenView, frozen_view
from imagegolf.contest.reads import reload
from imagegolf.db import Database
from imagegolf.registry import RegistryClient

RENDERED_KEPT = 64  # rendered answers kept (by version and page): a room of viewers shares one
FROZEN_KEPT = 8  # frozen standings kept (by version and board): one derivation each, for everyone
BOARDS_KEPT = 4  # the list of boards, by version (every change of the boards is an event)
T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def quoted(tag: str) -> str:
    return f'"{tag}"'


def not_modified(request: Request, tag: str, headers: dict[str, str] | None = None) -> Response | None:
    """A 304 when the client already holds the answer tagged ``tag`` (RFC 9110 §13.1.2)."""
    held = request.headers.get("if-none-match", "")
    if quoted(tag) in {h.strip().removeprefix("W/") for h in held.split(",")} or held.strip() == "*":
        return Response(status_code=304, headers={**cache_headers(tag), **(headers or {})})
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
    # Checks with the registry what its notifications name (the tag names the digest), and reads
    # those manifests (an image, or an artifact that is not an entry); None: the hook answers 503.
    registry: RegistryClient | None = None
    clock: Callable[[], dt.datetime] = field(default=utc_now, repr=False)  # when the freeze is decided
    _contest: Contest | None = field(default=None, repr=False)
    _contest_event: int = field(default=-1, repr=False)  # the last event when the row was read
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rendered: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False)
    _pending: dict[Hashable, Future[Any]] = field(default_factory=dict, repr=False)

    def _found(self) -> Contest:
        """The contest, looked up on first use (a server may start before `contest init`)."""
        with self._lock:
            if self._contest is None:
                self._contest = open_contest(self.db, self.contest_name)
            return self._contest

    def version(self) -> Version:
        """The last event id and the queue's counts: index lookups, whatever the history. The
        contest's row is read again whenever an event was appended since it was last read:
        every change of the rules is an event (`settings_changed`, `unfrozen`), so a page never
        shows settings older than the version it names."""
        found = self._found()
        now = version(self.db, found)
        with self._lock:
            if now.last_event == self._contest_event:
                return now
        fresh = reload(self.db, found)
        with self._lock:
            if now.last_event >= self._contest_event:
                self._contest, self._contest_event = fresh, now.last_event
        return now

    def current(self) -> tuple[Contest, Version]:
        """The contest as of its version, and the version."""
        now = self.version()
        with self._lock:
            assert self._contest is not None
            return self._contest, now

    def contest(self) -> Contest:
        return self.current()[0]

    # the freeze

    def phase(self, contest: Contest) -> str:
        """What the public board shows now: "frozen" (the freeze's standings), "ended" (the
        final board), or "" (the contest runs, the board moves). Part of every public tag: the
        answer changes when the phase does, with no event to say so."""
        at = self.clock()
        if contest.frozen(at):
            return "frozen"
        if contest.ends_at is not None and at >= contest.ends_at:
            return "ended"
        return ""

    def public_tag(self, contest: Contest, current: Version) -> str:
        phase = self.phase(contest)
        return f"{current.etag}-{phase}" if phase else current.etag

    def frozen(self, contest: Contest, current: Version, board: str | None = None) -> FrozenView:
        """A board's frozen standings (None: the first board's) at this version: computed once
        (every viewer waits for that one derivation) and kept for the next viewers until the next
        version. Every change of the boards is an event, so the version names them."""
        key = (
            "frozen", contest.id, current.etag, contest.freeze_at, contest.metric, contest.unfrozen_at, board,
        )  # fmt: skip
        return self.once(key, lambda: frozen_view(self.db, contest, board), keep=FROZEN_KEPT)

    def boards(self, contest: Contest, current: Version) -> tuple[Board, ...]:
        """The contest's boards in order (the first is the main one), read once per version: a
        page's tabs and a board's name in a URL cost no query of their own."""
        key = ("boards", contest.id, current.last_event)
        return self.once(key, lambda: read_boards(self.db, contest), keep=BOARDS_KEPT)

    def holds_admin_token(self, request: Request) -> bool:
        """Whether the request carries the admin token (the organiser sees the real board while
        the public one is frozen). A wrong or missing token is simply the public's view."""
        if not self.admin_token:
            return False
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        return scheme.lower() == "bearer" and bool(token) and hmac.compare_digest(
            token.encode(), self.admin_token.encode()
        )

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
        unchanged = not_modified(request, tag, headers)
        if unchanged is not None:
            return unchanged
        body = self.rendered((request.url.path, tag), render)
        return Response(body, media_type=media_type, headers={**cache_headers(tag), **(headers or {})})

    def rendered(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The answer for ``key`` (which must include the version it shows), rendered once: the
        viewers who ask while it is being rendered wait for that one render (a room of viewers
        polling after an event would otherwise each render it)."""
        return self.once(("rendered", key), render, keep=RENDERED_KEPT)

    def once(self, key: Hashable, make: Callable[[], T], *, keep: int) -> T:
        """``make()`` for ``key``, computed once and kept (the ``keep`` newest of its kind, by
        the key's first part); whoever asks meanwhile waits for that one computation."""
        with self._lock:
            if key in self._rendered:
                self._rendered.move_to_end(key)
                kept: T = self._rendered[key]
                return kept
            pending = self._pending.get(key)
            mine = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not mine:
            found: T = pending.result()
            return found
        try:
            value = make()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        with self._lock:
            self._rendered[key] = value
            del self._pending[key]
            kind = key[0] if isinstance(key, tuple) and key else None
            same = [k for k in self._rendered if isinstance(k, tuple) and k and k[0] == kind]
            for old in same[: max(0, len(same) - keep)]:  # oldest first
                del self._rendered[old]
        pending.set_result(value)
        return value
