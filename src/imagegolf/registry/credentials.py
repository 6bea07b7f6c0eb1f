"""Where credentials come from, in order: the caller, the environment, the containers' auth.json
files, docker's config.json (docs/registry.md "Credentials").

1. ``username``/``password`` given by the caller (``--username`` + ``--password-stdin``);
2. ``IMAGEGOLF_REGISTRY_USERNAME`` and ``IMAGEGOLF_REGISTRY_PASSWORD``;
3. the files podman, skopeo and buildah read, in the order containers-auth.json(5) documents: the
   primary file — ``$REGISTRY_AUTH_FILE`` when set (the override podman's ``--authfile`` defaults
   to), else ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/UID/auth.json`` when
   XDG_RUNTIME_DIR is unset) — then ``${XDG_CONFIG_HOME:-~/.config}/containers/auth.json``. The
   first file that knows the registry decides; within a file ``credHelpers[host]`` wins (its
   ``auths`` are then not used for that host), else the most specific ``auths`` key:
   ``host/ns/repo``, ``host/ns``, ``host``, then a key that normalises to the host (``https://host/v1/``);
4. docker's ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``, read by docker-py
   (``docker.auth``, ``docker.credentials``) as the docker CLI reads it: ``credHelpers[host]`` or
   else ``credsStore`` through ``docker-credential-NAME`` (skipped when not installed), then
   ``auths[host]``;
5. anonymous.

``source`` names where the credentials were found (a file and its key, a helper), so an error can
say it; no secret is ever part of a repr or a message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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
HELPER_PREFIX = "docker-credential-"
CONFIG_CAP = 4 * 1024 * 1024
FIX_CONFIG = "fix or remove the file"

# What ``Credentials.kind`` says: who else can read them (the hints printed after a push use it).
GIVEN, ENVIRONMENT, AUTH_FILE, DOCKER_CONFIG, DOCKER_STORE, NONE = (
    "given", "environment", "auth-file", "docker-config", "docker-store", "none",
)  # fmt: skip


@dataclass(frozen=True)
class Credentials:
    """A username and secret (password or identity token) and where they came from.

    ``kind`` is one of ``given``, ``environment``, ``auth-file`` (a containers auth.json),
    ``docker-config`` (config.json ``auths`` or ``credHelpers``), ``docker-store`` (config.json
    ``credsStore``) or ``none``. Credentials found in files were looked up for the registry host;
    :meth:`for_repository` looks again for one repository, where a repository-scoped auth.json
    entry may win.
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = "no credentials"
    identity_token: str | None = field(default=None, repr=False)
    kind: str = NONE
    resolver: Callable[[str], Credentials] | None = field(default=None, repr=False, compare=False)

    @property
    def present(self) -> bool:
        return bool(self.identity_token) or (self.username is not None and self.password is not None)

    def for_repository(self, repository: str) -> Credentials:
        """The credentials for ``repository`` on the same registry (these when none are scoped)."""
        return self.resolver(repository) if self.resolver is not None else self


def find_credentials(
    registry: str,
    *,
    repository: str | None = None,
    username: str | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """The credentials for ``registry`` (``host[:port]``) from the first source that has them.

    Without ``repository`` the files are searched for the host, and the answer can look again
    for a repository (:meth:`Credentials.for_repository`).
    """
    environment = os.environ if env is None else env
    if username is not None or password is not None:
        if username is None or password is None:
            raise UsageError("give both a registry username and a password, or neither")
        return Credentials(username, password, "the given username and password", kind=GIVEN)
    env_user, env_password = environment.get(ENV_USERNAME), environment.get(ENV_PASSWORD)
    if env_user is not None or env_password is not None:
        if env_user is None or env_password is None:
            raise UsageError(f"set both {ENV_USERNAME} and {ENV_PASSWORD}, or neither")
        return Credentials(env_user, env_password, f"{ENV_USERNAME}/{ENV_PASSWORD}", kind=ENVIRONMENT)
    snapshot = dict(environment)
    found = from_files(registry, repository, snapshot)
    if repository is None:
        found = replace(found, resolver=functools.partial(_for_repository, registry, snapshot, found))
    return found


def _for_repository(registry: str, env: dict[str, str], host: Credentials, repository: str) -> Credentials:
    """Only the auth.json files know repositories: when none has an entry that applies, the answer
    for the host (from docker's config, or none) stands, without asking its helper again."""
    searched: list[str] = []
    found = from_auth_files(registry, repository, env, searched)
    if found is not None:
        return found
    if host.present:
        return host
    return _nothing(registry, repository, env, searched)


def from_files(registry: str, repository: str | None, env: Mapping[str, str]) -> Credentials:
    """The containers' auth.json files in order, then docker's config.json; else no credentials."""
    searched: list[str] = []
    found = from_auth_files(registry, repository, env, searched)
    if found is not None:
        return found
    config = docker_config_path(env)
    if config is not None and config.is_file():
        found = from_docker_config(registry, config, env)
        if found is not None:
            return found
    return _nothing(registry, repository, env, searched)


def _nothing(
    registry: str, repository: str | None, env: Mapping[str, str], searched: list[str]
) -> Credentials:
    config = docker_config_path(env)
    searched = [*searched, *([str(config)] if config is not None and config.is_file() else [])]
    what = f"{registry}/{repository}" if repository else registry
    where = f"or in {', '.join(searched)}" if searched else "and no auth.json or docker config.json exists"
    return Credentials(source=f"no credentials for {what} (none given, none in the environment {where})")


# -- podman, skopeo and buildah: containers-auth.json(5) ---------------------------------------


def auth_file_paths(env: Mapping[str, str]) -> list[Path]:
    """The containers' auth files in the order they are searched (they need not exist)."""
    if env.get("REGISTRY_AUTH_FILE"):
        primary = Path(env["REGISTRY_AUTH_FILE"])
    elif env.get("XDG_RUNTIME_DIR"):
        primary = Path(env["XDG_RUNTIME_DIR"], "containers", "auth.json")
    else:
        primary = Path(f"/run/containers/{os.getuid()}/auth.json")
    paths = [primary]
    config_home = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"], ".config")) if env.get("HOME") else "")
    if config_home:
        paths.append(Path(config_home, "containers", "auth.json"))
    return paths


def from_auth_files(
    registry: str, repository: str | None, env: Mapping[str, str], searched: list[str]
) -> Credentials | None:
    """The first auth.json that says something for ``registry``/``repository`` decides; the files
    that exist are added to ``searched``."""
    for path in auth_file_paths(env):
        if path.is_file():
            searched.append(str(path))
            found = from_auth_file(path, registry, repository, env)
            if found is not None:
                return found
    return None


def auth_keys(registry: str, repository: str | None) -> list[str]:
    """``host/a/b/c``, ``host/a/b``, ``host/a``, ``host``: most specific first."""
    keys = [registry]
    parts = repository.split("/") if repository else []
    keys += [f"{registry}/{'/'.join(parts[:n])}" for n in range(1, len(parts) + 1)]
    return keys[::-1]


def from_auth_file(
    path: Path, registry: str, repository: str | None, env: Mapping[str, str]
) -> Credentials | None:
    """What one auth.json says for ``registry`` (and ``repository``); None when it says nothing."""
    content = _read_json(path, "auth file")
    helpers = _section(content, "credHelpers", path)
    auths = _section(content, "auths", path)
    host = normalize_host(registry)
    helper = helpers.get(registry)
    if helper is not None:  # the helper alone answers for this host: the file's auths are not used
        if not isinstance(helper, str) or not helper:
            raise UsageError(f"{path} credHelpers[{registry!r}] is not a helper name", hint=FIX_CONFIG)
        return _from_helper(helper, registry, env, AUTH_FILE, f"{path} credHelpers[{registry!r}]")
    key = next((k for k in auth_keys(registry, repository) if k in auths), None)
    if key is None:  # a key written as a URL (https://host/v1/) or as another Docker Hub alias
        key = next((k for k in auths if ("://" in k or "/" not in k) and normalize_host(k) == host), None)
    if key is None:
        return None
    return _from_entry(auths[key], f"{path} auths[{key!r}]")


# -- docker: config.json through docker-py ------------------------------------------------------


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"], "config.json")
    home = env.get("HOME")
    return Path(home, ".docker", "config.json") if home else None


def from_docker_config(registry: str, path: Path, env: Mapping[str, str]) -> Credentials | None:
    """docker-py's reading of config.json: a credential helper for the host, then ``auths``."""
    import docker.auth
    import docker.errors

    content = _read_json(path, "docker config")
    relevant = {k: content[k] for k in ("auths", "credHelpers", "credsStore") if content.get(k)}
    if not relevant:
        return None
    helpers = _section(relevant, "credHelpers", path)
    if "credsStore" in relevant and not isinstance(relevant["credsStore"], str):
        raise UsageError(f"{path}: credsStore is not a helper name", hint=FIX_CONFIG)
    relevant["auths"] = _docker_cli_auths(_section(relevant, "auths", path), path)
    try:
        config = docker.auth.AuthConfig.load_config(None, relevant)
    except docker.errors.DockerException as error:
        raise UsageError(f"cannot read the docker config {path}: {error}", hint=FIX_CONFIG) from None
    host = normalize_host(registry)
    name = config.get_credential_store(host)
    if isinstance(name, str) and name:
        server = helper_server_url(host)
        scoped = helpers.get(server) is not None
        kind = DOCKER_CONFIG if scoped else DOCKER_STORE
        where = f"{path} credHelpers[{server!r}]" if scoped else f"{path} credsStore"
        found = _from_helper(name, server, env, kind, where)
        if found is not None:
            return found
    auths = docker.auth.AuthConfig({"auths": config.auths})
    entry = auths.resolve_authconfig(host)
    if not entry:
        return None
    key = next((k for k, v in config.auths.items() if v is entry), host)
    return _from_docker_py(entry, f"{path} auths[{key!r}]")


def _docker_cli_auths(auths: dict[str, Any], path: Path) -> dict[str, Any]:
    """``auths`` as docker-py parses them, keeping what the docker CLI also honours: entries with
    ``username``/``password`` fields instead of ``auth``; an empty ``auth`` is no entry."""
    kept: dict[str, Any] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise UsageError(f"{path} auths[{key!r}] is not a JSON object", hint=FIX_CONFIG)
        entry = {k: v for k, v in entry.items() if not (k == "auth" and v in ("", None))}
        if "auth" in entry:
            try:
                decode_auth(entry["auth"])
            except (ValueError, TypeError):
                raise UsageError(
                    f"{path} auths[{key!r}]: the auth field is not base64 of user:password",
                    hint=FIX_CONFIG,
                ) from None
        elif isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            pair = f"{entry['username']}:{entry['password']}".encode()
            entry["auth"] = base64.b64encode(pair).decode("ascii")
        kept[key] = entry
    return kept


def _from_docker_py(entry: Mapping[str, Any], source: str) -> Credentials | None:
    token = entry.get("IdentityToken")
    if isinstance(token, str) and token:
        return Credentials(None, None, source, token, kind=DOCKER_CONFIG)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user:
        return Credentials(user, secret, source, kind=DOCKER_CONFIG)
    return None


# -- shared pieces -----------------------------------------------------------------------------


def normalize_host(server: str) -> str:
    """``https://host:port/v1/`` → ``host:port``; every Docker Hub alias → ``docker.io``."""
    text = server.strip()
    host = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    host = host.lower()
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def helper_server_url(registry: str) -> str:
    return DOCKER_HUB_SERVER if normalize_host(registry) == "docker.io" else registry


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            raw = file.read(CONFIG_CAP)
        value = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"cannot read the {what} {path}: {error}", hint=FIX_CONFIG) from None
    if not isinstance(value, dict):
        raise UsageError(f"the {what} {path} is not a JSON object", hint=FIX_CONFIG)
    return value


def _section(content: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = content.get(name) or {}
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {name} is not a JSON object", hint=FIX_CONFIG)
    return value


def _from_entry(entry: Any, source: str) -> Credentials | None:
    """An auth.json entry: base64 ``auth`` of user:password, and/or an ``identitytoken``. An entry
    without a colon in ``auth`` (``{}`` marks a credential helper's host) says nothing, as in
    containers/image."""
    if not isinstance(entry, dict):
        raise UsageError(f"{source} is not a JSON object", hint=FIX_CONFIG)
    token = entry.get("identitytoken")
    token = token if isinstance(token, str) and token else None
    encoded = entry.get("auth")
    if not isinstance(encoded, str) or not encoded:
        return Credentials(None, None, source, token, kind=AUTH_FILE) if token else None
    try:
        user, secret = decode_auth(encoded)
    except (binascii.Error, UnicodeError, TypeError):
        raise UsageError(
            f"{source}: the auth field is not base64 of user:password", hint=FIX_CONFIG
        ) from None
    except ValueError:  # no colon: not credentials
        return Credentials(None, None, source, token, kind=AUTH_FILE) if token else None
    return Credentials(user, secret.strip("\x00"), source, token, kind=AUTH_FILE)


def decode_auth(encoded: str) -> tuple[str, str]:
    """An ``auth`` field: base64 of ``user:password``, decoded as docker-py's ``decode_auth`` does
    (docker/auth.py: lenient base64, split at the first colon, UTF-8), without importing the
    docker SDK for it. Raises ValueError without a colon, binascii.Error or UnicodeError else."""
    login, secret = base64.b64decode(encoded.encode("ascii")).split(b":", 1)
    return login.decode("utf-8"), secret.decode("utf-8")


def _from_helper(name: str, server: str, env: Mapping[str, str], kind: str, where: str) -> Credentials | None:
    """``docker-credential-NAME get`` through docker-py's ``docker.credentials.Store``; None when
    the helper is not installed or knows no credentials for ``server``."""
    import shutil  # start-up: shutil brings bz2 and lzma; only a credential helper needs it

    from docker import credentials as helpers

    program = f"{HELPER_PREFIX}{name}"
    binary = shutil.which(program, path=env.get("PATH", os.defpath))
    if binary is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Store warns when the helper is not on *this process's* PATH
        store = helpers.Store(name, environment=dict(env))
    store.exe = binary  # found on the PATH of the environment we were given
    try:
        answer = store.get(server)
        user, secret = answer["Username"], answer["Secret"]
    except helpers.CredentialsNotFound:
        return None
    except helpers.StoreError:
        raise UsageError(f"the credential helper {program} failed ({where})") from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"the credential helper {program} printed no credentials ({where})") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise UsageError(f"the credential helper {program} printed no credentials ({where})")
    source = f"the credential helper {program}"
    if user == HELPER_TOKEN_USER:
        return Credentials(None, None, source, secret, kind=kind)
    return Credentials(user, secret, source, kind=kind)
