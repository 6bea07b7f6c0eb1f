"""``GET /api/admin/notifications``: the contest's webhooks and their newest deliveries, for the
admin page (docs/web.md). Needs the admin token. A webhook's URL is a secret (Slack's and
Discord's are the credentials that post to a channel): only its scheme and host are shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from imagegolf.contest.notify import overview
from imagegolf.web.actions import require_admin
from imagegolf.web.site import Site

MAX_DELIVERIES = 1000


def router(site: Site) -> APIRouter:
    api = APIRouter()

    @api.get("/api/admin/notifications", tags=["admin"])
    async def admin_notifications(
        request: Request,
        limit: int = Query(100, ge=1, le=MAX_DELIVERIES, description="the newest deliveries shown"),
    ) -> dict[str, Any]:
        """The webhooks (target, format, kinds, deliveries by state) and the newest deliveries
        (state, attempts, last status and error, next try). Needs the admin token."""
        require_admin(site, request)
        return await run_in_threadpool(lambda: overview(site.db, site.contest(), limit=limit))

    return api
