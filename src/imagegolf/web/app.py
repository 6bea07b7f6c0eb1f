"""The web front end: ``create_app(db, contest_name)`` → a FastAPI app (pages, JSON API, hook)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from imagegolf import __version__
from imagegolf.db import Database
from imagegolf.registry import RegistryClient
from imagegolf.web import actions, api, board_pages, errors, notify_admin, pages, token
from imagegolf.web.admin_settings import router as admin_settings_router
from imagegolf.web.guard import Guard
from imagegolf.web.render import STATIC, make_environment
from imagegolf.web.rules_api import router as rules_router
from imagegolf.web.site import Site


def create_app(
    db: Database,
    contest_name: str | None = None,
    *,
    admin_token: str | None = None,
    hook_token: str | None = None,
    registry: RegistryClient | None = None,
) -> FastAPI:
    """The contest's web site. ``contest_name`` None: the database's only contest.

    ``admin_token`` None turns the admin actions off (403); ``hook_token`` None leaves the registry
    hook open (bind to loopback, or put the registry on a trusted network).
    """
    site = Site(db, contest_name, admin_token or None, hook_token or None, registry)
    env = make_environment()
    app = FastAPI(
        title="imagegolf contest",
        version=__version__,
        description="The contest's JSON API; the pages are at / (see /api for a list).",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: the site must work offline
        redoc_url=None,
    )
    app.state.site = site
    errors.install(app, env)
    app.include_router(api.router(site))
    app.include_router(actions.router(site))
    app.include_router(admin_settings_router(site))  # settings, reinstate, unfreeze
    app.include_router(notify_admin.router(site))  # GET /api/admin/notifications: webhooks, deliveries
    app.include_router(token.router(site))  # /auth/token: the registry's token server
    app.include_router(rules_router(site))  # /api/rules, /api/digests/{digest}: the entrants' client
    app.include_router(board_pages.router(site, env))  # each board: /, /boards/NAME, timelines, entrants
    app.include_router(pages.router(site, env, app))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard)
    return app
