"""The organiser's actions on a running contest: change settings, reinstate a disqualified
submission, show the final board of a frozen contest. Each needs the admin token (as the other
admin actions, web/actions.py) and is recorded as an event naming ``admin@<client address>``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from imagegolf.contest import reinstate
from imagegolf.contest.settings import SETTINGS, advice, apply_settings, freeze_state, settings_of, unfreeze
from imagegolf.db.clock import format_time
from imagegolf.web.actions import _key as submission_key
from imagegolf.web.actions import require_admin
from imagegolf.web.errors import WebError
from imagegolf.web.guard import read_json_object
from imagegolf.web.site import Site


def router(site: Site) -> APIRouter:
    api = APIRouter()

    @api.post("/api/admin/settings", tags=["admin"])
    async def admin_settings(request: Request) -> dict[str, Any]:
        """Change settings of the running contest: {"metric", "platform", "starts_at", "ends_at",
        "freeze_at", "identity", "per_entrant_per_hour", "runs", "timeout_s", "cross_check"}, any
        of them (null clears a time or the platforms). One `settings_changed` event; a metric
        change re-ranks the board at once. Needs the admin token."""
        actor = require_admin(site, request)
        body = await read_json_object(request)
        if not body:
            raise WebError(400, f"name a setting to change: {', '.join(SETTINGS)}")
        change = await run_in_threadpool(lambda: apply_settings(site.db, site.contest(), body, actor=actor))
        notes = advice(change) if change.changed else ["nothing changed: no event recorded"]
        return {
            "changes": change.changes,
            "settings": settings_of(change.contest),
            "notes": notes,
            "actor": actor,
        }

    @api.post("/api/admin/reinstate", tags=["admin"])
    async def admin_reinstate(request: Request) -> dict[str, Any]:
        """Undo a disqualification: {"submission": id or digest, "reason": text}. Needs the admin token."""
        actor = require_admin(site, request)
        body = await read_json_object(request)
        key = submission_key(body.get("submission"), "submission")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise WebError(400, "'reason' must be a non-empty text: say why, it is on record")
        count = await run_in_threadpool(
            lambda: reinstate(site.db, site.contest(), key, reason.strip(), actor=actor)
        )
        return {"reinstated": count, "submission": key, "reason": reason.strip(), "actor": actor}

    @api.post("/api/admin/unfreeze", tags=["admin"])
    async def admin_unfreeze(request: Request) -> dict[str, Any]:
        """Show the final board now, before the end of a frozen contest. Needs the admin token."""
        actor = require_admin(site, request)
        await read_json_object(request)  # {} (a body, so that a form cannot post it by accident)
        thawed = await run_in_threadpool(lambda: unfreeze(site.db, site.contest(), actor=actor))
        assert thawed.unfrozen_at is not None
        return {
            "unfrozen_at": format_time(thawed.unfrozen_at),
            "state": freeze_state(thawed, thawed.unfrozen_at),
            "actor": actor,
        }

    return api
