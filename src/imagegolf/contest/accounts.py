"""Registry accounts for a registry imagegolf runs: one per entrant, bcrypt-hashed as htpasswd does.

Names follow the distribution spec's path-component grammar (``[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*``,
docs/content/spec/api.md), because with per-entrant repositories the name is also the last part
of the entrant's repository (``REPOSITORY/NAME``), and it never holds ``:``, which htpasswd's
``user:hash`` lines could not.
"""

from __future__ import annotations

import re
import secrets

import bcrypt

from imagegolf.contest import derived
from imagegolf.contest.model import Contest
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError

_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
MAX_NAME = 64
MIN_PASSWORD = 8
# bcrypt reads at most 72 bytes of a password (longer ones would be silently cut by older
# versions, refused by bcrypt >= 4.1's hashpw): refuse them with a clear message instead.
MAX_PASSWORD_BYTES = 72
BCRYPT_COST = 10  # htpasswd -B's default


RESERVED_PREFIX = "imagegolf-"  # imagegolf's own accounts (the judge's: contest/tokens.py)


def check_name(name: str) -> str:
    if name.startswith(RESERVED_PREFIX):
        raise UsageError(f"entrant name {name!r}: names starting {RESERVED_PREFIX!r} are imagegolf's own")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise UsageError(
            f"entrant name {name[:80]!r}: use lower-case letters, digits and single '.', '_' or '-' "
            f"between them (at most {MAX_NAME} characters)",
            hint="the name is the registry account and, with per-entrant repositories, a repository path",
        )
    return name


def check_password(password: str) -> bytes:
    data = password.encode("utf-8")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: give at least {MIN_PASSWORD} characters")
    if len(data) > MAX_PASSWORD_BYTES:
        raise UsageError(f"the password is too long: bcrypt reads at most {MAX_PASSWORD_BYTES} bytes")
    return data


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


def hash_password(password: str) -> str:
    # "$2b$": what Debian's htpasswd -B writes as "$2y$"; distribution's htpasswd reader
    # (golang.org/x/crypto/bcrypt) accepts both.
    return bcrypt.hashpw(check_password(password), bcrypt.gensalt(BCRYPT_COST)).decode("ascii")


def add_entrant(db: Database, contest: Contest, name: str, password: str, *, actor: str) -> bool:
    """Create the entrant's account (or change its password). True: the account is new."""
    check_name(name)
    hashed = hash_password(password)

    def write(tx: Transaction) -> bool:
        new = q.put_account(tx, contest.id, name, hashed)
        action = "account created" if new else "password changed"
        derived.record(tx, contest, EventKind.ENTRANT_ADDED, actor, {"entrant": name, "action": action})
        return new

    return db.run(write)


def remove_entrant(db: Database, contest: Contest, name: str, *, actor: str) -> None:
    """Delete the entrant's account: they can no longer log in or push. Their submissions stay."""

    def write(tx: Transaction) -> None:
        if not q.delete_account(tx, contest.id, name):
            known = ", ".join(q.accounts(tx, contest.id)) or "none yet"
            raise UsageError(f"no entrant account {name!r} (accounts: {known})")
        derived.record(tx, contest, EventKind.ENTRANT_REMOVED, actor, {"entrant": name})

    db.run(write)


def entrants(db: Database, contest: Contest) -> list[str]:
    return list(db.run(lambda tx: q.accounts(tx, contest.id), write=False))


def password_hashes(db: Database, contest: Contest) -> dict[str, str]:
    """Name → bcrypt hash: an htpasswd file's lines."""
    return db.run(lambda tx: q.accounts(tx, contest.id), write=False)


def verify(db: Database, contest: Contest, name: str, password: str) -> bool:
    """Whether ``name`` is an account and ``password`` its password (constant time in bcrypt)."""
    stored = db.run(lambda tx: q.account_hash(tx, contest.id, name), write=False)
    data = password.encode("utf-8", "surrogateescape")
    if stored is None or len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, stored.encode("ascii"))
    except ValueError:  # a hash that is not bcrypt's
        return False


def is_entrant(db: Database, contest: Contest, name: str) -> bool:
    return db.run(lambda tx: q.account_hash(tx, contest.id, name), write=False) is not None


def htpasswd(hashes: dict[str, str]) -> str:
    """An htpasswd file's text (``name:hash`` lines), as distribution's ``auth.htpasswd`` reads it."""
    return "".join(f"{name}:{hashed}\n" for name, hashed in sorted(hashes.items()))


__all__ = [
    "add_entrant",
    "check_name",
    "entrants",
    "htpasswd",
    "is_entrant",
    "new_password",
    "password_hashes",
    "remove_entrant",
    "verify",
]
