"""Find a container engine: DOCKER_HOST, then Docker's socket, then podman's, else start podman."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping

from imagegolf.engine.client import DockerApiEngine
from imagegolf.engine.docker_api import DockerApi
from imagegolf.engine.podman_service import SETUP_HINT, PodmanService
from imagegolf.engine.protocol import Engine
from imagegolf.engine.runtimes import RUNC, check_runtime
from imagegolf.errors import EnvironmentProblem

DOCKER_SOCKET = "/var/run/docker.sock"
PODMAN_SOCKETS = ("/run/podman/podman.sock",)


def _try(
    url: str, host_paths: tuple[str, ...] = (), spawn: Callable[[str], Engine] | None = None
) -> DockerApiEngine | None:
    api = DockerApi.connect(url)
    return None if api is None else DockerApiEngine(api, url, host_paths=host_paths, spawn=spawn)


@contextlib.contextmanager
def connect(
    env: Mapping[str, str] | None = None, *, start_podman: bool = True, runtime: str = RUNC
) -> Iterator[Engine]:
    """Yield a connected :class:`Engine`; a podman service started here is stopped on exit.

    ``runtime`` is the one the runs will mostly use: a podman service imagegolf starts runs it (the
    others get a service of their own when a run asks, ``Engine.for_runtime``). An engine found
    running is used as it is; a run under a runtime it lacks raises EngineError then.
    """
    check_runtime(runtime)
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
    with private_podman(runtime) as started:
        yield started


@contextlib.contextmanager
def private_podman(runtime: str = RUNC) -> Iterator[Engine]:
    """Start podman's Docker-compatible service on a private socket and store, its containers
    under ``runtime``; stop it on exit. A run under another runtime starts a second such service
    (``Engine.for_runtime``), stopped on exit too."""
    with contextlib.ExitStack() as stack:
        services = _PodmanServices(stack)
        yield services.get(runtime)


class _PodmanServices:
    """The podman services imagegolf started, one per runtime, each started on first use."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, runtime: str) -> Engine:
        with self._lock:
            if runtime not in self._engines:
                self._engines[runtime] = self._stack.enter_context(self._started(runtime))
            return self._engines[runtime]

    @contextlib.contextmanager
    def _started(self, runtime: str) -> Iterator[Engine]:
        with PodmanService(runtime=runtime) as service:
            engine = _try(service.url, (service.directory,), self.get)
            if engine is None:
                raise EnvironmentProblem(
                    f"podman's service at {service.url} does not answer", hint=SETUP_HINT
                )
            try:
                yield engine
            finally:
                engine.close()
