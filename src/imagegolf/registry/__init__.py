"""Adapter: the distribution API (push, pull, tags) over HTTP, with auth, TLS rules and retries.

May import the pure core (oci) and the leaves; never store or engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.registry.client import RegistryClient
from imagegolf.registry.credentials import ENV_PASSWORD, ENV_USERNAME, Credentials, find_credentials
from imagegolf.registry.errors import (
    AuthenticationFailed,
    NotAnIndex,
    NotFound,
    RegistryProtocolError,
    RegistryRefused,
    RegistryUnreachable,
)
from imagegolf.registry.push import PushResult
from imagegolf.registry.retry import RetryPolicy
from imagegolf.registry.session import RegistrySession
from imagegolf.registry.transport import Transport, split_registry

DOCKER_HUB_API = "registry-1.docker.io"


def open_registry(
    registry: str,
    *,
    username: str | None = None,
    password: str | None = None,
    insecure: bool = False,
    ca_bundle: str | None = None,
    env: Mapping[str, str] | None = None,
    caps: Caps = DEFAULT_CAPS,
    progress: Callable[[str], None] | None = None,
    retry: RetryPolicy | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
) -> RegistryClient:
    """A client for ``registry`` (``host[:port]``, as in a :class:`~imagegolf.ref.Reference`).

    Nothing is contacted yet. Credentials come from ``username``/``password``, else
    IMAGEGOLF_REGISTRY_USERNAME/PASSWORD in ``env`` (default: the process environment), else the
    containers auth.json files, else docker's config.json (registry/credentials.py has the order);
    ``insecure`` allows plain HTTP and unverified TLS for any host.
    """
    _scheme, hostport = split_registry(registry)
    api_host = DOCKER_HUB_API if hostport == "docker.io" else registry
    credentials = find_credentials(hostport, username=username, password=password, env=env)
    transport = Transport(api_host, insecure=insecure, ca_bundle=ca_bundle, retry=retry, timeout=timeout)
    return RegistryClient(RegistrySession(hostport, transport, credentials, caps=caps, progress=progress))


__all__ = [
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "AuthenticationFailed",
    "Credentials",
    "NotAnIndex",
    "NotFound",
    "PushResult",
    "RegistryClient",
    "RegistryProtocolError",
    "RegistryRefused",
    "RegistryUnreachable",
    "RetryPolicy",
    "open_registry",
]
