"""The docker SDK, typed: the one module of the engine adapter that imports it.

The SDK (docker-py) has no type hints and answers with JSON dicts. ``DockerApi`` makes the calls
the adapter needs and gives back typed values; its errors are :class:`ApiError` (the engine
answered with an error; :class:`ApiNotFound` for a 404) and :class:`ApiUnreachable` (no answer,
or the connection broke). No SDK type or exception leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions

from imagegolf.engine.sandbox import RunSpec

# docker.errors.DockerException covers the SDK's own failures (no socket, bad URL), requests' the
# transport's; OSError a socket that breaks under them.
_SDK_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)
API_TIMEOUT_S = 120

Frame = tuple[bytes | None, bytes | None]  # (stdout, stderr) of one demultiplexed attach frame


class ApiError(Exception):
    """The engine answered, with an error: ``str()`` is the SDK's whole message (status, URL and
    the engine's words), ``explanation`` the engine's own words alone."""

    def __init__(self, message: str, explanation: str) -> None:
        super().__init__(message)
        self.explanation = explanation


class ApiNotFound(ApiError):
    """The engine has no such image or container (HTTP 404)."""


class ApiUnreachable(Exception):
    """The engine did not answer, or the connection broke."""


@dataclass(frozen=True)
class VersionInfo:
    """``GET /version``: the engine's version and the names of its components."""

    version: str
    components: tuple[str, ...]

    @property
    def podman(self) -> bool:
        return any("Podman" in name for name in self.components)


@dataclass(frozen=True)
class EngineInfo:
    """The fields of ``GET /info`` imagegolf reads."""

    default_runtime: str = ""
    runtimes: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)  # name -> runtimeArgs
    root_dir: str = ""  # DockerRootDir: the engine's data root, never shown
    driver: str = ""
    driver_status: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerState:
    """The fields of a container's inspected ``State`` imagegolf reads; empty when unknown."""

    status: str = ""
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""


class DockerApi:
    """A Docker Engine API client (dockerd, or podman's compatible service) with typed answers."""

    def __init__(self, client: Any) -> None:
        self._client = client  # docker.DockerClient
        # The low-level docker.APIClient: for tests and tools that need a call this seam does not
        # offer (creating a bare container, tagging, listing volumes). imagegolf's code never uses it.
        self.sdk: Any = client.api

    @classmethod
    def open(cls, url: str, *, version: str | None = None, timeout: int = API_TIMEOUT_S) -> DockerApi:
        """A client for the engine at ``url`` (no call is made when ``version`` is given)."""
        try:
            return cls(docker.DockerClient(base_url=url, version=version, timeout=timeout))
        except _SDK_ERRORS as exc:
            raise ApiUnreachable(str(exc)) from exc

    @classmethod
    def connect(cls, url: str, *, timeout: int = API_TIMEOUT_S) -> DockerApi | None:
        """A client for the engine at ``url`` if it answers a ping, else None."""
        try:
            client = docker.DockerClient(base_url=url, timeout=timeout)
            client.ping()
        except _SDK_ERRORS:
            return None
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def ping(self) -> None:
        """Raise ApiUnreachable (or ApiError) unless the engine answers ``GET /_ping``."""
        self._call(self.sdk.ping)

    def version(self) -> VersionInfo:
        answer = _mapping(self._call(self.sdk.version))
        components = tuple(str(_mapping(c).get("Name", "")) for c in _list(answer.get("Components")))
        return VersionInfo(str(answer.get("Version", "?")), components)

    def info(self) -> EngineInfo:
        answer = _mapping(self._call(self.sdk.info))
        runtimes = {
            str(name): _runtime_args(entry) for name, entry in _mapping(answer.get("Runtimes")).items()
        }
        status = {str(pair[0]): str(pair[1]) for pair in _list(answer.get("DriverStatus")) if _is_pair(pair)}
        return EngineInfo(
            default_runtime=str(answer.get("DefaultRuntime") or ""),
            runtimes=runtimes,
            root_dir=str(answer.get("DockerRootDir") or ""),
            driver=str(answer.get("Driver") or ""),
            driver_status=status,
        )

    def load(self, archive: bytes) -> list[str]:
        """Load an image archive; the names (or, untagged, the IDs) of the images it created."""
        images = self._call(self._client.images.load, archive)
        names: list[str] = []
        for image in images:
            names.extend(str(tag) for tag in image.tags or [image.id])
        return names

    def image_size(self, reference: str) -> int | None:
        """The inspected image's ``Size``, None when the engine gives none; ApiNotFound if absent."""
        size = _mapping(self._call(self.sdk.inspect_image, reference)).get("Size")
        return size if isinstance(size, int) and not isinstance(size, bool) else None

    def image_tags(self) -> list[str]:
        """Every ``repo:tag`` of every image."""
        images = _list(self._call(self.sdk.images))
        return [str(tag) for image in images for tag in _list(_mapping(image).get("RepoTags"))]

    def containers(self) -> list[tuple[str, str]]:
        """(id, image) of every container, stopped ones too."""
        found = _list(self._call(self.sdk.containers, all=True))
        return [(str(c["Id"]), str(c.get("Image", ""))) for c in map(_mapping, found)]

    def remove_container(self, container_id: str) -> None:
        """Remove a container, killing it first, with its anonymous volumes."""
        self._call(self.sdk.remove_container, container_id, force=True, v=True)

    def remove_image(self, name: str, *, force: bool) -> None:
        self._call(self.sdk.remove_image, name, force=force)

    def create_container(self, image: str, spec: RunSpec, etc_dir: str) -> str:
        """Create (not start) a container of ``image`` under ``spec``; its id."""
        host_config = self._call(self.sdk.create_host_config, **spec.host_config(etc_dir))
        kwargs = spec.create_kwargs()
        created = self._call(self.sdk.create_container, image, host_config=host_config, **kwargs)
        return str(_mapping(created)["Id"])

    def attach(self, container_id: str) -> Iterator[Frame]:
        """The container's demultiplexed output, attached now (before start: nothing is missed).

        Iterating raises ApiUnreachable when the stream breaks (the container was killed or removed).
        """
        stream = self._call(self.sdk.attach, container_id, stdout=True, stderr=True, stream=True, demux=True)
        return _frames(stream)

    def start(self, container_id: str) -> None:
        self._call(self.sdk.start, container_id)

    def wait(self, container_id: str, timeout_s: float) -> int | None:
        """Wait for the container to end; its ``StatusCode`` as the engine gives it (None: none)."""
        code = _mapping(self._call(self.sdk.wait, container_id, timeout=timeout_s)).get("StatusCode")
        return code if isinstance(code, int) and not isinstance(code, bool) else None

    def kill(self, container_id: str) -> None:
        self._call(self.sdk.kill, container_id, signal="SIGKILL")

    def container_state(self, container_id: str) -> ContainerState:
        state = _mapping(_mapping(self._call(self.sdk.inspect_container, container_id)).get("State"))
        code = state.get("ExitCode")
        return ContainerState(
            status=str(state.get("Status") or ""),
            exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            oom_killed=bool(state.get("OOMKilled")),
            error=str(state.get("Error") or ""),
        )

    @staticmethod
    def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` with the SDK's exceptions translated."""
        try:
            return method(*args, **kwargs)
        except docker.errors.NotFound as exc:
            raise ApiNotFound(str(exc), _explain(exc)) from exc
        except (docker.errors.APIError, docker.errors.ImageLoadError) as exc:
            raise ApiError(str(exc), _explain(exc)) from exc
        except _SDK_ERRORS as exc:
            raise ApiUnreachable(str(exc)) from exc


def _frames(stream: Any) -> Iterator[Frame]:
    try:
        for out, err in stream:
            yield (bytes(out) if out else None, bytes(err) if err else None)
    except _SDK_ERRORS as exc:
        raise ApiUnreachable(str(exc)) from exc


def _explain(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)


def _mapping(value: object) -> Mapping[str, Any]:
    """A JSON object of the API's answer (an empty one for anything else)."""
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_pair(value: object) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2


def _runtime_args(entry: object) -> tuple[str, ...] | None:
    """A ``Runtimes`` entry's ``runtimeArgs``; None when the entry is not an object."""
    if not isinstance(entry, Mapping):
        return None
    return tuple(str(arg) for arg in _list(entry.get("runtimeArgs")) if arg is not None)
