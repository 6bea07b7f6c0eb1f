"""``imagegolf contest registry``: Debian's docker-registry run for a contest, with its accounts.

The registry's notifications go to the contest's hook (``NOTIFY/hooks/registry``) with the hook
token, so each push is a submission as soon as it lands. Who may push:

- shared repository: every entrant account (HTTP basic, an htpasswd file of the accounts'
  bcrypt hashes) plus the judge's own account, which imagegolf's watcher and workers use to pull.
  distribution reads the file again whenever its modification time changes (v2.8.2
  registry/auth/htpasswd/access.go, ``Authorized``), so a change of accounts replaces the file
  (written aside, then renamed over it: the registry never reads half a file);
- per-entrant repositories: the registry asks imagegolf's token server (``NOTIFY/auth/token``,
  contest/tokens.py) for every push and pull, which reads the accounts live: no restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imagegolf.contest import accounts, tokens
from imagegolf.contest.accounts import hash_password
from imagegolf.contest.model import Contest
from imagegolf.contest.signing import signing_key
from imagegolf.db import Database
from imagegolf.errors import UsageError
from imagegolf.registry.local import LocalRegistry, TokenAuth, write_private

_log = logging.getLogger(__name__)
HOOK_PATH = "/hooks/registry"
TOKEN_PATH = "/auth/token"
ACCOUNTS_CHECK_S = 2.0


@dataclass(frozen=True)
class Hosting:
    """What ``contest registry`` was asked for."""

    host: str
    port: int
    notify: str  # the base URL of `imagegolf serve` / `contest watch --serve`
    storage: Path
    hook_token: str | None
    tls: tuple[Path, Path] | None = None

    @property
    def hook_url(self) -> str:
        return self.notify + HOOK_PATH

    @property
    def realm(self) -> str:
        return self.notify + TOKEN_PATH


def notify_base(url: str) -> str:
    """``http://HOST:PORT`` from what the user gave (the hook's own URL is accepted too)."""
    base = url.rstrip("/")
    if base.endswith(HOOK_PATH):
        base = base[: -len(HOOK_PATH)]
    if not base.startswith(("http://", "https://")) or "/" in base.split("://", 1)[1]:
        raise UsageError(
            f"notification address {url!r}: give the address imagegolf serves the contest on",
            hint="e.g. http://127.0.0.1:8000, where the contest's web site listens",
        )
    return base


def htpasswd_text(db: Database, contest: Contest) -> str:
    """Every entrant account, and the judge's (its password derived from the contest's key)."""
    hashes = accounts.password_hashes(db, contest)
    private_key, _certificate = signing_key(db, contest.id)
    hashes[tokens.JUDGE_ACCOUNT] = hash_password(tokens.judge_password(private_key))
    return accounts.htpasswd(hashes)


def _accounts_fingerprint(db: Database, contest: Contest) -> str:
    names = accounts.password_hashes(db, contest)
    return hashlib.sha256(accounts.htpasswd(names).encode()).hexdigest()


def make_registry(db: Database, contest: Contest, hosting: Hosting) -> LocalRegistry:
    hosting.storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    auth = hosting.storage / "auth"
    auth.mkdir(exist_ok=True, mode=0o700)
    htpasswd = token = None
    if contest.per_entrant:
        _private, certificate = signing_key(db, contest.id)
        bundle = auth / "token-ca.pem"
        bundle.write_text(certificate)
        token = TokenAuth(
            realm=hosting.realm,
            service=tokens.service_name(contest),
            issuer=tokens.ISSUER,
            rootcertbundle=bundle,
        )
    else:
        htpasswd = auth / "htpasswd"
        _write_private(htpasswd, htpasswd_text(db, contest))
    return LocalRegistry(
        hosting.storage,
        host=hosting.host,
        port=hosting.port,
        notify_url=hosting.hook_url,
        notify_token=hosting.hook_token,
        htpasswd=htpasswd,
        token=token,
        tls=hosting.tls,
    )


def _write_private(path: Path, text: str) -> None:
    aside = path.with_name(path.name + ".new")
    write_private(aside, text)
    os.replace(aside, path)  # rename(2): atomic within the directory


def run_registry(
    db: Database,
    contest: Contest,
    hosting: Hosting,
    *,
    stop: threading.Event,
    said: Callable[[str], None],
) -> None:
    """Run the registry until ``stop``; keep its htpasswd file in step with the accounts."""
    registry = make_registry(db, contest, hosting)
    registry.start()
    try:
        seen = _accounts_fingerprint(db, contest)
        while not stop.wait(ACCOUNTS_CHECK_S):
            if registry.proc is not None and registry.proc.poll() is not None:
                said("the registry stopped on its own: starting it again")
                registry.start()
            if contest.per_entrant:
                continue  # the token server reads the accounts live
            now = _accounts_fingerprint(db, contest)
            if now != seen:
                seen = now
                assert registry.htpasswd is not None
                _write_private(registry.htpasswd, htpasswd_text(db, contest))
                said(f"accounts changed: the registry now knows {len(accounts.entrants(db, contest))}")
    finally:
        registry.stop()


__all__ = ["Hosting", "htpasswd_text", "make_registry", "notify_base", "run_registry"]
