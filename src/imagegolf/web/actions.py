"""The routes that write: the organiser's admin actions and the registry's push notifications.

Admin actions need ``Authorization: Bearer <admin token>`` and are off (403) when the server has
no admin token. The hook needs ``Authorization: Bearer <hook token>`` when one is configured.
Tokens are compared in constant time. Each action is an event naming ``admin@<client ip>``.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from imagegolf.contest import disqualify, queue_rejudge
from imagegolf.contest.hooks import EVENTS_MEDIA_TYPES, Push, read_envelope
from imagegolf.contest.intake import NotConfirmed, record_notified
from imagegolf.errors import EnvironmentProblem
from imagegolf.registry import AuthenticationFailed
from imagegolf.web.api import MAX_ID
from imagegolf.web.errors import WebError
from imagegolf.web.guard import read_body, read_json_object
from imagegolf.web.site import Site

_log = logging.getLogger(__name__)
HOOK_MEDIA_TYPES = (*EVENTS_MEDIA_TYPES, "application/json")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_token(request: Request, expected: str, what: str) -> None:
    given = bearer(request)
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        problem = "no" if given is None else "a wrong"
        raise WebError(
            401,
            f"{problem} {what} token: send Authorization: Bearer <token>",
            {"WWW-Authenticate": 'Bearer realm="imagegolf"'},
        )


def check_hook_token(request: Request, expected: str) -> None:
    """The hook token, as ``Authorization: Bearer`` or, for senders that cannot set headers (Docker
    Hub's webhooks), as the URL's ``token`` query parameter."""
    given = request.query_params.get("token")
    if given is not None and bearer(request) is None:
        if not hmac.compare_digest(given.encode(), expected.encode()):
            challenge = {"WWW-Authenticate": 'Bearer realm="imagegolf"'}
            raise WebError(401, "a wrong hook token in ?token=", challenge)
        return
    check_token(request, expected, "hook")


def require_admin(site: Site, request: Request) -> str:
    """The actor for the event log, once the request proved it holds the admin token."""
    if not site.admin_token:
        raise WebError(
            403,
            "admin actions are disabled: start `imagegolf serve` with IMAGEGOLF_ADMIN_TOKEN "
            "or --admin-token-file",
        )
    check_token(request, site.admin_token, "admin")
    return f"admin@{client_ip(request)}"


def _key(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise WebError(400, f"'{field}' must be a submission id or a digest")
    key = str(value).strip()
    # An id the database cannot hold is a 400 here, not an OverflowError in the query (SQLite
    # integers are 64-bit); isascii: str.isdigit() is also true of '²', which int() refuses.
    if key.lstrip("-").isdigit() and not (key.isascii() and key.isdigit() and 1 <= int(key) <= MAX_ID):
        raise WebError(400, f"'{field}': {key[:30]} is not a submission id (ids run from 1 to {MAX_ID})")
    return key


def router(site: Site) -> APIRouter:
    api = APIRouter()

    @api.post("/api/admin/disqualify", tags=["admin"])
    async def admin_disqualify(request: Request) -> dict[str, Any]:
        """Disqualify a submission: {"submission": id or digest, "reason": text}. Needs the admin token."""
        actor = require_admin(site, request)
        body = await read_json_object(request)
        key = _key(body.get("submission"), "submission")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise WebError(400, "'reason' must be a non-empty text: say why, it is shown on the board")
        count = await run_in_threadpool(
            lambda: disqualify(site.db, site.contest(), key, reason.strip(), actor=actor)
        )
        return {"disqualified": count, "submission": key, "reason": reason.strip(), "actor": actor}

    @api.post("/api/admin/rejudge", tags=["admin"])
    async def admin_rejudge(request: Request) -> dict[str, Any]:
        """Queue re-judging: {"submissions": [ids or digests]} or {"all": true}. Needs the admin token."""
        actor = require_admin(site, request)
        body = await read_json_object(request)
        wanted, every = body.get("submissions"), body.get("all", False)
        if every is True and wanted is None:
            keys = None
        elif every is False and isinstance(wanted, list) and wanted:
            keys = [_key(k, "submissions[]") for k in wanted]
        else:
            raise WebError(400, 'give either {"submissions": [id or digest, …]} or {"all": true}')
        queued = await run_in_threadpool(lambda: queue_rejudge(site.db, site.contest(), keys, actor=actor))
        return {"queued": queued, "actor": actor}

    @api.post("/hooks/registry", status_code=202, tags=["hooks"])
    async def registry_hook(request: Request) -> JSONResponse:
        """A registry's push notifications (distribution, Quay, Harbor, Docker Hub, GitLab): each tag
        push the registry confirms is a submission."""
        if site.hook_token:
            check_hook_token(request, site.hook_token)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type and media_type not in HOOK_MEDIA_TYPES:
            raise WebError(415, f"Content-Type {media_type}: send {EVENTS_MEDIA_TYPES[0]}")
        body = await read_body(request)
        envelope = read_envelope(body)  # parsed with json_input's caps (depth, digits, standard JSON)
        registry = site.registry
        if registry is None:
            raise WebError(
                503,
                "this server cannot check notifications with the registry: start it with registry "
                "access (imagegolf serve --username …, or contest watch --serve)",
            )
        contest = await run_in_threadpool(site.contest)
        sender = f"hook@{client_ip(request)}"

        def one(push: Push) -> dict[str, Any]:
            try:
                intake = record_notified(
                    site.db, contest, push.repository, push.tag, push.digest,
                    pusher=push.actor, registry=registry, actor=sender,
                )  # fmt: skip
            except NotConfirmed as error:  # a 2xx all the same: sending it again changes nothing
                return {"tag": push.tag, "digest": push.digest, "submission": None, "entrant": None,
                        "note": f"not recorded: {error}"}  # fmt: skip
            return {"tag": intake.tag, "digest": intake.digest, "submission": intake.submission_id,
                    "entrant": intake.entrant, "note": intake.note}  # fmt: skip

        def record() -> list[dict[str, Any]]:
            return [one(push) for push in envelope.pushes if contest.holds(push.repository)]

        try:
            recorded = await run_in_threadpool(record)
        except (EnvironmentProblem, AuthenticationFailed) as error:
            # The registry cannot be asked now: a 503 makes distribution send the envelope again.
            raise WebError(503, f"cannot check the notification with the registry: {error}") from error
        others = [p for p in envelope.pushes if not contest.holds(p.repository)]
        summary = {
            "events": envelope.events,
            "pushes": recorded,
            "ignored": [
                {
                    "repository": p.repository,
                    "tag": p.tag,
                    "reason": f"not the contest's repository ({contest.repository})",
                }
                for p in others
            ]
            + [{"event": s.event_id, "reason": s.reason} for s in envelope.skipped],
        }
        _log.info("hook from %s: %d events, %d pushes recorded", sender, envelope.events, len(recorded))
        return JSONResponse(summary, status_code=202)

    return api
