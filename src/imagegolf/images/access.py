"""How to reach a registry, as one typed value: what the CLI's registry options and a contest's
judge credentials both become before any client is made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imagegolf.registry import RegistryClient as RegistryClient  # re-exported for type hints


@dataclass(frozen=True)
class RegistryAccess:
    """Credentials and transport rules for every registry a command talks to.

    ``username``/``password`` win over the environment and the credential files;
    ``environ`` is where IMAGEGOLF_REGISTRY_USERNAME/PASSWORD are looked up (None: the process's).
    """

    username: str | None = None
    password: str | None = None
    insecure: bool = False
    ca_bundle: str | None = None
    environ: Mapping[str, str] | None = None
    progress: Callable[[str], None] | None = None


def open_client(access: RegistryAccess, registry: str) -> RegistryClient:
    """A client for ``registry`` (``host[:port]``); nothing is contacted yet."""
    # Start-up speed: the registry adapter brings sockets, threads and its own modules; a command
    # that reads files (build, inspect, explain of a .tar) never opens a client, never pays for it.
    from imagegolf.registry import open_registry

    return open_registry(
        registry,
        username=access.username,
        password=access.password,
        insecure=access.insecure,
        ca_bundle=access.ca_bundle,
        env=access.environ,
        progress=access.progress,
    )


def known_username(registry: str, environ: Mapping[str, str] | None) -> str | None:
    """The account a client for ``registry`` would log in with, from the environment or the
    credential files (no password is read, nothing is contacted); None: anonymous."""
    # Start-up speed: as in open_client, the registry adapter only when a registry is named.
    from imagegolf.registry.credentials import find_credentials
    from imagegolf.registry.transport import split_registry

    return find_credentials(split_registry(registry)[1], env=environ).username
