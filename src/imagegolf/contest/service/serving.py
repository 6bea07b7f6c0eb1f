"""What a web server of the contest needs, opened here so that ``imagegolf serve`` and
``contest watch --serve`` start it one way: the database, the contest, the registry client the
hook reads manifests with, and the tokens (checked against the contest's identity)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from imagegolf.contest.model import Contest, Identity
from imagegolf.contest.service.notifying import sending
from imagegolf.contest.service.opening import ContestAt, opened, registry_for
from imagegolf.db import Database
from imagegolf.errors import UsageError
from imagegolf.images.access import RegistryAccess
from imagegolf.registry import RegistryClient

SHORT_TOKEN = 16  # characters: a token shorter than this is worth a warning


@dataclass(frozen=True)
class WebOptions:
    """Where the site listens and its tokens: the admin token (None: admin actions off) and the
    registry hook's (None: the hook is open)."""

    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    hook_token: str | None = None


@dataclass(frozen=True)
class Hosted:
    """Everything the web app of one contest is made of."""

    db: Database
    contest: Contest
    registry: RegistryClient
    web: WebOptions


def check_hook_trust(contest: Contest, hook_token: str | None) -> None:
    """Identity registry-user believes the account a notification names: only a sender holding
    the hook token may name one."""
    if contest.identity is Identity.REGISTRY_USER and not contest.per_entrant and hook_token is None:
        raise UsageError(
            "identity registry-user takes the entrant from the registry's notifications: the hook "
            "needs a token, or anyone could post a notification naming any account",
            hint="export IMAGEGOLF_HOOK_TOKEN=$(openssl rand -hex 32) "
            "(and give the contest's registry the same)",
        )


def hosted(db: Database, contest: Contest, registry: RegistryClient, web: WebOptions) -> Hosted:
    """The parts of a site for a contest already open (a watcher serving its page too)."""
    check_hook_trust(contest, web.hook_token)
    return Hosted(db, contest, registry, web)


def short_tokens(web: WebOptions) -> list[tuple[str, int]]:
    """The tokens too short to be safe: (which, its length)."""
    given = (("admin", web.admin_token), ("hook", web.hook_token))
    return [(name, len(token)) for name, token in given if token is not None and len(token) < SHORT_TOKEN]


@contextlib.contextmanager
def hosting(where: ContestAt, access: RegistryAccess, web: WebOptions) -> Iterator[Hosted]:
    """The contest opened for a site of its own (``imagegolf serve``): the contest must exist now,
    not at the first page view; the hook reads manifests with ``access`` (or the judge's account
    on a registry imagegolf runs); the notifications are sent from here while the body runs."""
    with opened(where) as (db, contest):
        check_hook_trust(contest, web.hook_token)
        with registry_for(db, contest, access) as registry, sending(db, contest):
            yield Hosted(db, contest, registry, web)


__all__ = ["SHORT_TOKEN", "Hosted", "WebOptions", "check_hook_trust", "hosted", "hosting", "short_tokens"]
