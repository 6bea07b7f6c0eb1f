"""Where credentials come from, in order: the caller, the environment, docker's config.json.

Docker's config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``) is read the way the
docker CLI reads it: ``credHelpers[host]``, then ``credsStore`` (``docker-credential-<name> get``,
used when that program is installed), then ``auths[host]`` (base64 ``auth`` or
``username``/``password``, or an ``identitytoken``). ``source`` says which one was used, so an
error can name it; the secret is never part of any repr or message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imagegolf.errors import UsageError

ENV_USERNAME = "IMAGEGOLF_REGISTRY_USERNAME"
ENV_PASSWORD = "IMAGEGOLF_REGISTRY_PASSWORD"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
HELPER_TOKEN_USER = "<token>"  # a credential helper's Username for an identity (refresh) token
CONFIG_CAP = 4 * 1024 * 1024
FIX_CONFIG = "fix or remove the file"


@dataclass(frozen=True)
class Credentials:
    """A username and secret (password or identity token) and where they came from."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = "no credentials"
    identity_token: str | None = field(default=None, repr=False)

    @property
    def present(self) -> bool:
        return bool(self.identity_token) or (self.username is not None and self.password is not None)


def find_credentials(
    registry: str,
    *,
    username: str | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """The credentials for ``registry`` (``host[:port]``) from the first source that has them."""
    environment = os.environ if env is None else env
    if username is not None or password is not None:
        if username is None or password is None:
            raise UsageError("give both a registry username and a password, or neither")
        return Credentials(username, password, "the given username and password")
    env_user, env_password = environment.get(ENV_USERNAME), environment.get(ENV_PASSWORD)
    if env_user is not None or env_password is not None:
        if env_user is None or env_password is None:
            raise UsageError(f"set both {ENV_USERNAME} and {ENV_PASSWORD}, or neither")
        return Credentials(env_user, env_password, f"{ENV_USERNAME}/{ENV_PASSWORD}")
    config_path = docker_config_path(environment)
    if config_path is None or not config_path.is_file():
        return Credentials(source="no credentials (none given, none in the environment or docker config)")
    return from_docker_config(registry, config_path, environment)


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"], "config.json")
    home = env.get("HOME")
    return Path(home, ".docker", "config.json") if home else None


def from_docker_config(registry: str, path: Path, env: Mapping[str, str]) -> Credentials:
    config = _read_config(path)
    host = normalize_host(registry)
    helpers = config.get("credHelpers") or {}
    helper = (
        next((v for k, v in helpers.items() if normalize_host(k) == host), None)
        if isinstance(helpers, dict)
        else None
    )
    for name in (helper, config.get("credsStore")):
        if isinstance(name, str) and name:
            found = _from_helper(name, registry, env)
            if found is not None:
                return found
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if normalize_host(key) == host and isinstance(entry, dict):
                found = _from_auth_entry(entry, f"{path} auths[{key!r}]")
                if found is not None:
                    return found
    return Credentials(source=f"no credentials for {registry} in {path}")


def normalize_host(server: str) -> str:
    """``https://host:port/v1/`` → ``host:port``; every Docker Hub alias → ``docker.io``."""
    text = server.strip()
    host = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    host = host.lower()
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def helper_server_url(registry: str) -> str:
    return DOCKER_HUB_SERVER if normalize_host(registry) == "docker.io" else registry


def _read_config(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()[:CONFIG_CAP]
        value = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"cannot read the docker config {path}: {error}", hint=FIX_CONFIG) from None
    if not isinstance(value, dict):
        raise UsageError(f"the docker config {path} is not a JSON object", hint=FIX_CONFIG)
    return value


def _from_auth_entry(entry: dict[str, Any], source: str) -> Credentials | None:
    token = entry.get("identitytoken")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(f"{source}: the auth field is not base64 of user:password") from None
        name, sep, pair_secret = decoded.partition(":")
        if not sep:
            raise UsageError(f"{source}: the auth field is not base64 of user:password")
        return Credentials(name, pair_secret, source, token if isinstance(token, str) and token else None)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user:
        return Credentials(user, secret, source)
    if isinstance(token, str) and token:
        return Credentials(None, None, source, token)
    return None


def _from_helper(name: str, registry: str, env: Mapping[str, str]) -> Credentials | None:
    """``docker-credential-<name> get``; None when it is not installed or knows no credentials."""
    program = f"docker-credential-{name}"
    binary = shutil.which(program, path=env.get("PATH", os.defpath))
    if binary is None:
        return None
    try:
        done = subprocess.run(
            [binary, "get"],
            input=helper_server_url(registry).encode(),
            capture_output=True,
            timeout=30,
            env=dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"the credential helper {program} failed: {type(error).__name__}") from None
    if done.returncode != 0:
        return None  # "credentials not found in native keychain": fall through to auths
    try:
        answer = json.loads(done.stdout.decode("utf-8"))
        user, secret = answer["Username"], answer["Secret"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise UsageError(f"the credential helper {program} printed no credentials") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise UsageError(f"the credential helper {program} printed no credentials")
    source = f"the credential helper {program}"
    if user == HELPER_TOKEN_USER:
        return Credentials(None, None, source, secret)
    return Credentials(user, secret, source)
