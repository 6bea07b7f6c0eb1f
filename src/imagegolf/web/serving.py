"""The contest's web site started one way: the app made from what the contest service opened
(:class:`~imagegolf.contest.service.Hosted`), served in the foreground (``imagegolf serve``) or
in a thread beside a watcher (``contest watch --serve``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from fastapi import FastAPI

from imagegolf.contest.service import ContestAt, Hosted, WebOptions, hosting
from imagegolf.images.access import RegistryAccess
from imagegolf.web.app import create_app
from imagegolf.web.server import ServerHandle, serve_forever, serve_in_thread


def app_for(site: Hosted) -> FastAPI:
    """The contest's app: pages, JSON API, admin actions (with the admin token), registry hook."""
    return create_app(
        site.db,
        site.contest.name,
        admin_token=site.web.admin_token,
        hook_token=site.web.hook_token,
        registry=site.registry,
    )


def serve(
    where: ContestAt,
    access: RegistryAccess,
    web: WebOptions,
    *,
    announce: Callable[[Hosted, str], None],
) -> None:
    """Serve the contest until SIGINT/SIGTERM, sending its notifications meanwhile;
    ``announce(site, base URL)`` once the socket is bound."""
    with hosting(where, access, web) as site, contextlib.suppress(KeyboardInterrupt):
        # uvicorn stops, then re-raises SIGINT
        serve_forever(app_for(site), web.host, web.port, announce=lambda url: announce(site, url))


@contextlib.contextmanager
def served(site: Hosted) -> Iterator[ServerHandle]:
    """The site served in a background thread while the body runs."""
    with serve_in_thread(app_for(site), site.web.host, site.web.port) as server:
        yield server


__all__ = ["app_for", "serve", "served"]
