"""Engine operations over the Docker Engine API (dockerd, or podman's compat service)."""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests.exceptions

from imagegolf.engine.sandbox import RunSpec
from imagegolf.errors import EngineError

_API_ERRORS = (docker.errors.APIError, requests.exceptions.RequestException)
JUDGE_IMAGE_PREFIX = "localhost/imagegolf-judge-"


def judge_image_name(short_digest: str) -> str:
    """A private name for one judgement's image: the load time, then randomness (no clashes)."""
    return f"{JUDGE_IMAGE_PREFIX}{int(time.time())}-{secrets.token_hex(4)}:{short_digest}"


def _judge_image_time(name: str) -> float:
    """The load time in a ``judge_image_name``; +inf for any other name (never swept)."""
    if not name.startswith(JUDGE_IMAGE_PREFIX):
        return math.inf
    stamp = name[len(JUDGE_IMAGE_PREFIX) :].split("-", 1)[0]
    return float(stamp) if stamp.isdigit() else math.inf


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


class _CappedStreams:
    """Collect demultiplexed (stdout, stderr) frames up to caps; note overflow."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stdout_truncated = False
        self.stderr_truncated = False
        self.overflow = threading.Event()

    def consume(self, frames: Any) -> None:
        """Keep at most the caps; past a cap, signal the overflow and drain without keeping.

        Draining matters: an engine that cannot write the attach stream (podman's conmon) does
        not see the killed container exit until its output is read.
        """
        try:
            for out, err in frames:
                if self.overflow.is_set():
                    continue
                self.stdout_truncated |= self._keep(self.stdout, out, self.spec.stdout_cap)
                self.stderr_truncated |= self._keep(self.stderr, err, self.spec.stderr_cap)
                if self.stdout_truncated or self.stderr_truncated:
                    self.overflow.set()
        except (*_API_ERRORS, OSError, ValueError):
            return  # the stream ends when the container is killed or removed

    @staticmethod
    def _keep(kept: bytearray, data: bytes | None, cap: int) -> bool:
        """Append what fits under ``cap``; True when ``data`` did not fit."""
        if not data:
            return False
        room = cap - len(kept)
        kept += data[: max(room, 0)]
        return len(data) > room


class Engine:
    """A connected engine. Every call goes through this seam."""

    def __init__(self, client: docker.DockerClient, url: str) -> None:
        self.client = client
        self.api: docker.APIClient = client.api
        self.url = url

    def close(self) -> None:
        self.client.close()

    def describe(self) -> str:
        """``podman 4.3.1`` / ``docker 20.10.24`` at URL."""
        try:
            info = self.api.version()
        except _API_ERRORS as exc:
            raise EngineError(f"engine at {self.url} does not answer: {exc}") from exc
        names = [c.get("Name", "") for c in info.get("Components", [])]
        kind = "podman" if any("Podman" in n for n in names) else "docker"
        return f"{kind} {info.get('Version', '?')} at {self.url}"

    @property
    def kind(self) -> str:
        """``podman`` or ``docker``."""
        try:
            components = self.api.version().get("Components", [])
        except _API_ERRORS as exc:
            raise EngineError(f"engine at {self.url} does not answer: {exc}") from exc
        return "podman" if any("Podman" in c.get("Name", "") for c in components) else "docker"

    def load(self, archive: bytes) -> list[str]:
        """Load a docker-loadable tar (our dual tar); return the image names it created."""
        try:
            images = self.client.images.load(archive)
        except (docker.errors.APIError, docker.errors.ImageLoadError) as exc:
            raise ImageRefused(f"the engine refused the image archive: {_explain(exc)}") from exc
        except _API_ERRORS as exc:
            raise EngineError(f"engine at {self.url} failed while loading: {exc}") from exc
        names: list[str] = []
        for image in images:
            names.extend(image.tags or [image.id])
        if not names:
            raise EngineError("the engine loaded the archive but reported no image")
        return names

    def sweep_judge_leftovers(self, older_than_s: float) -> tuple[int, int]:
        """Remove the judge's images (and their containers) loaded more than ``older_than_s`` ago.

        A judge removes its own; these are what a judge killed mid-run (SIGKILL) left behind. The
        load time is in the name (``judge_image_name``), so a live judge's image is never touched.
        Returns (containers, images) removed.
        """
        cutoff = time.time() - older_than_s
        stale: set[str] = set()
        with contextlib.suppress(*_API_ERRORS):
            for image in self.api.images():
                stale.update(t for t in image.get("RepoTags") or [] if _judge_image_time(t) < cutoff)
        containers = 0
        with contextlib.suppress(*_API_ERRORS):
            for container in self.api.containers(all=True):
                if container.get("Image") in stale or _judge_image_time(container.get("Image", "")) < cutoff:
                    with contextlib.suppress(*_API_ERRORS):
                        self.api.remove_container(container["Id"], force=True, v=True)
                        containers += 1
        for tag in stale:
            self.remove_image(tag, force=False)
        return containers, len(stale)

    def remove_image(self, name: str, *, force: bool = True) -> None:
        """Remove the image name (without ``force``, only this tag when the image has others)."""
        with contextlib.suppress(*_API_ERRORS):
            self.api.remove_image(name, force=force)

    def run(self, image: str, spec: RunSpec | None = None) -> RunResult:
        """Run ``image``'s own Entrypoint/Cmd under ``spec``; the container is always removed.

        The engine refusing to create or start the container is a result (``started`` is
        False, ``error`` says why); the engine not answering raises :class:`EngineError`.
        """
        spec = spec or RunSpec()
        try:
            host_config = self.api.create_host_config(**spec.host_config())
            created = self.api.create_container(image, host_config=host_config, **spec.create_kwargs())
        except docker.errors.APIError as exc:
            return _failed(_explain(exc))
        except _API_ERRORS as exc:
            raise self._gone(exc) from exc
        container_id = created["Id"]
        try:
            return self._attach_start_wait(container_id, spec)
        finally:
            with contextlib.suppress(*_API_ERRORS):
                self.api.remove_container(container_id, force=True, v=True)

    def _gone(self, exc: Exception) -> EngineError:
        return EngineError(f"engine at {self.url} stopped answering: {exc}")

    def _attach_start_wait(self, container_id: str, spec: RunSpec) -> RunResult:
        # Attach before start, so not one byte of a fast program's output is missed. podman
        # prepares the container (runc create) here: an exec failure can surface already.
        try:
            frames = self.api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
        except docker.errors.APIError as exc:
            return _failed(_explain(exc))
        except _API_ERRORS as exc:
            raise self._gone(exc) from exc
        streams = _CappedStreams(spec)
        reader = threading.Thread(target=streams.consume, args=(frames,), daemon=True)
        reader.start()
        started = time.monotonic()
        try:
            self.api.start(container_id)
        except docker.errors.APIError as exc:
            return _failed(_explain(exc), started)
        except _API_ERRORS as exc:
            raise self._gone(exc) from exc
        exit_code: int | None = None
        timed_out = False
        waiter: dict[str, Any] = {}

        def wait() -> None:
            try:
                waiter.update(self.api.wait(container_id, timeout=spec.timeout_s + 30))
            except (*_API_ERRORS, OSError) as exc:
                waiter["error"] = str(exc)

        wait_thread = threading.Thread(target=wait, daemon=True)
        wait_thread.start()
        deadline = started + spec.timeout_s
        exited = False
        while not exited and not streams.overflow.is_set() and time.monotonic() < deadline:
            # podman's compat wait polls every 250 ms; the attach stream ends as soon as the
            # process does, and an inspect then confirms the exit without that delay.
            exited = not wait_thread.is_alive() or (not reader.is_alive() and self._has_exited(container_id))
            if not exited:
                if reader.is_alive():
                    reader.join(0.01)
                else:
                    time.sleep(0.005)
        if not exited:
            timed_out = not streams.overflow.is_set()
            self._kill(container_id)
            wait_thread.join(10)
        wall_ms = int((time.monotonic() - started) * 1000)
        reader.join(2)
        state = self._state(container_id)
        if exited and not streams.overflow.is_set():
            exit_code = _exit_status(waiter.get("StatusCode"), state)
        return RunResult(
            exit_code=None if timed_out else exit_code,
            stdout=bytes(streams.stdout),
            stderr=bytes(streams.stderr),
            wall_ms=wall_ms,
            stdout_truncated=streams.stdout_truncated,
            timed_out=timed_out,
            oom_killed=bool(state.get("OOMKilled")),
            error=str(state.get("Error") or waiter.get("error") or ""),
            stderr_truncated=streams.stderr_truncated,
            status_unknown=exit_code is None and not timed_out and not streams.overflow.is_set(),
        )

    def _has_exited(self, container_id: str) -> bool:
        return self._state(container_id).get("Status") in ("exited", "stopped", "dead")

    def _kill(self, container_id: str) -> None:
        with contextlib.suppress(*_API_ERRORS):
            self.api.kill(container_id, signal="SIGKILL")

    def _state(self, container_id: str) -> dict[str, Any]:
        try:
            return dict(self.api.inspect_container(container_id).get("State") or {})
        except _API_ERRORS:
            return {}


def _exit_status(waited: Any, state: dict[str, Any]) -> int | None:
    """The exit status, or None when the engine does not know it.

    podman's wait can answer -1 (or lose the container) when other clients share its store;
    the inspected state, read after the wait, is then the better witness.
    """
    inspected = state.get("ExitCode") if state.get("Status") in ("exited", "stopped") else None
    for candidate in (waited, inspected):
        if isinstance(candidate, int) and not isinstance(candidate, bool) and candidate >= 0:
            return candidate
    return None


def _failed(error: str, started: float | None = None) -> RunResult:
    wall_ms = int((time.monotonic() - started) * 1000) if started else 0
    return RunResult(None, b"", b"", wall_ms, False, False, False, error)


def _explain(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)
