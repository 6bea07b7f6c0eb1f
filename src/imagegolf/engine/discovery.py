"""Find a container engine: DOCKER_HOST, then Docker's socket, then podman's, else start podman."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

import docker
import docker.errors
import requests.exceptions

from imagegolf.engine.client import Engine
from imagegolf.engine.podman_service import SETUP_HINT, PodmanService
from imagegolf.errors import EnvironmentProblem

DOCKER_SOCKET = "/var/run/docker.sock"
PODMAN_SOCKETS = ("/run/podman/podman.sock",)
_UNREACHABLE = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


def _try(url: str, host_paths: tuple[str, ...] = ()) -> Engine | None:
    try:
        client = docker.DockerClient(base_url=url, timeout=120)
        client.ping()
    except _UNREACHABLE:
        return None
    return Engine(client, url, host_paths=host_paths)


@contextlib.contextmanager
def connect(env: Mapping[str, str] | None = None, *, start_podman: bool = True) -> Iterator[Engine]:
    """Yield a connected :class:`Engine`; a podman service started here is stopped on exit."""
    env = os.environ if env is None else env
    explicit = env.get("DOCKER_HOST")
    if explicit:
        engine = _try(explicit)
        if engine is None:
            raise EnvironmentProblem(
                f"DOCKER_HOST={explicit} does not answer",
                hint="start that engine, or unset DOCKER_HOST to let imagegolf start podman",
            )
        yield engine
        return
    for path in (DOCKER_SOCKET, *PODMAN_SOCKETS):
        if os.path.exists(path):
            engine = _try(f"unix://{path}")
            if engine is not None:
                yield engine
                return
    if not start_podman:
        raise EnvironmentProblem("no container engine is running", hint=SETUP_HINT)
    with private_podman() as engine:
        yield engine


@contextlib.contextmanager
def private_podman() -> Iterator[Engine]:
    """Start podman's Docker-compatible service on a private socket and store; stop it on exit."""
    with PodmanService() as service:
        engine = _try(service.url, (service.directory,))
        if engine is None:
            raise EnvironmentProblem(f"podman's service at {service.url} does not answer", hint=SETUP_HINT)
        try:
            yield engine
        finally:
            engine.close()
