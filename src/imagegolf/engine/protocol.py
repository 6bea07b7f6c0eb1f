"""The engine seam: what the judge, the contest and the ladder ask of a container engine.

``Engine`` is a protocol. The real adapter (engine/client.py ``DockerApiEngine``: the Docker Engine
API, for dockerd and podman's service) implements it; tests use an in-memory fake
(tests/fakes/engine.py). Nothing here imports the docker SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from imagegolf.engine.sandbox import RunSpec
from imagegolf.errors import EngineError

EngineKind = Literal["docker", "podman"]
StoredMetric = Literal["docker_classic", "podman"]


class ImageRefused(EngineError):
    """The engine answered but would not load the image archive."""


@dataclass(frozen=True)
class RunResult:
    """What one sandboxed run produced; stdout/stderr are capped while streaming."""

    exit_code: int | None  # None when the run was killed by the wall timeout
    stdout: bytes
    stderr: bytes
    wall_ms: int
    stdout_truncated: bool
    timed_out: bool
    oom_killed: bool
    error: str  # the engine's own error text (start failures), empty otherwise
    stderr_truncated: bool = False
    status_unknown: bool = False  # it ran and ended, but the engine lost its exit status

    @property
    def output_limited(self) -> bool:
        """The run was stopped because stdout or stderr passed its cap."""
        return self.stdout_truncated or self.stderr_truncated

    @property
    def started(self) -> bool:
        """The engine started the container (it has an exit status, or was killed by us)."""
        return self.exit_code is not None or self.timed_out or self.output_limited or self.status_unknown


def never_started(error: str, wall_ms: int = 0) -> RunResult:
    """The result of a run the engine refused to create or start: ``error`` says why."""
    return RunResult(None, b"", b"", wall_ms, False, False, False, error)


@dataclass(frozen=True)
class StoredSize:
    """An image's size as an engine reports it, and which of imagegolf's metrics that number is."""

    metric: StoredMetric
    size: int


class Engine(Protocol):
    """A connected container engine. Every call of the judge, the contest and the ladder goes
    through these operations; errors are :class:`imagegolf.errors.EngineError` (the engine does not
    answer, or cannot run as the sandbox needs) and :class:`ImageRefused` (``load``)."""

    @property
    def url(self) -> str:
        """Where the engine answers (``unix:///run/…/podman.sock``)."""
        ...

    @property
    def kind(self) -> EngineKind:
        """``podman`` or ``docker``."""
        ...

    def describe(self) -> str:
        """``podman 4.3.1 at URL`` / ``docker 20.10.24 at URL``."""
        ...

    def for_runtime(self, runtime: str) -> Engine:
        """The engine that runs containers under ``runtime`` (this one, or a sibling service)."""
        ...

    def check_runtime(self, runtime: str) -> None:
        """Raise EngineError unless this engine runs containers under ``runtime`` as the sandbox needs."""
        ...

    def load(self, archive: bytes) -> list[str]:
        """Load a docker-loadable tar (imagegolf's dual tar); the image names it created."""
        ...

    def has_image(self, reference: str) -> bool:
        """Whether the engine holds an image by this name or ID."""
        ...

    def stored_size(self, name: str) -> StoredSize | None:
        """The image's size as stored, when that is one of imagegolf's metrics; else None."""
        ...

    def run(self, image: str, spec: RunSpec | None = None) -> RunResult:
        """Run the image's own Entrypoint/Cmd under ``spec``; the container is always removed."""
        ...

    def remove_image(self, name: str, *, force: bool = True) -> None:
        """Remove the image name (best effort)."""
        ...

    def image_names(self) -> list[str]:
        """Every image name (``repo:tag``) the engine holds; empty when it does not answer."""
        ...

    def containers(self) -> list[tuple[str, str]]:
        """(id, image) of every container, stopped ones too; empty when it does not answer."""
        ...

    def remove_container(self, container_id: str) -> bool:
        """Remove a container (killing it first); False if that failed."""
        ...

    def scrub(self, text: str, *extra: str) -> str:
        """``text`` with this engine's host paths (and ``extra``) replaced by a placeholder."""
        ...

    def close(self) -> None:
        """Let go of the connection."""
        ...
