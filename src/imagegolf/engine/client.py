"""The real engine: ``DockerApiEngine``, the ``Engine`` protocol over the Docker Engine API
(dockerd, or podman's compatible service), through the typed SDK wrapper (engine/docker_api.py)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from imagegolf.engine.docker_api import (
    ApiError,
    ApiNotFound,
    ApiUnreachable,
    ContainerState,
    DockerApi,
    Frame,
)
from imagegolf.engine.protocol import Engine as Engine
from imagegolf.engine.protocol import EngineKind, ImageRefused, RunResult, StoredSize, never_started
from imagegolf.engine.runtimes import RUNC, RUNSC, docker_hint, docker_problem, podman_flags
from imagegolf.engine.sandbox import RunSpec, etc_files
from imagegolf.errors import EngineError
from imagegolf.processes import pids_where

# ``Engine`` (the protocol), ``ImageRefused``, ``RunResult`` and ``StoredSize`` are defined in
# engine/protocol.py; they are named here too for callers that import them from this module.
__all__ = [
    "ENGINE_ROOTS",
    "HOST_PATH",
    "DockerApiEngine",
    "Engine",
    "ImageRefused",
    "RunResult",
    "StoredSize",
    "reap_shim",
    "scrub_host_paths",
]
_API_ERRORS = (ApiError, ApiUnreachable)
# Where engines keep their state; a path under one of these, or naming a 64-hex id (a layer, a
# container, a bundle), is the host's business and never shown (run errors reach a public page).
ENGINE_ROOTS = (
    "/var/lib/docker",
    "/var/lib/containers",
    "/var/lib/containerd",
    "/run/containers",
    "/run/docker",
    "/run/containerd",
    "/run/libpod",
    "/run/runc",
    "/var/run",
    "/var/tmp",
)
HOST_PATH = "<host path>"
_PATH = re.compile(r"(?<![\w.~-])/[^\s\"'`:;,()<>\[\]{}]*")
_ID = re.compile(r"(?:\A|/)[0-9a-f]{64}(?:/|\Z)")
_LOCAL_SCHEMES = ("unix:", "http+unix:")


def scrub_host_paths(text: str, roots: Iterable[str] = ()) -> str:
    """``text`` with every absolute path under ``ENGINE_ROOTS`` or ``roots`` (or naming an id) as
    ``HOST_PATH``."""
    prefixes = tuple(root.rstrip("/") for root in (*ENGINE_ROOTS, *roots) if root.strip("/"))

    def scrub(match: re.Match[str]) -> str:
        path = match.group(0)
        if _ID.search(path) or any(path == p or path.startswith(p + "/") for p in prefixes):
            return HOST_PATH
        return path

    return _PATH.sub(scrub, text)


class _CappedStreams:
    """Collect demultiplexed (stdout, stderr) frames up to caps; note overflow."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stdout_truncated = False
        self.stderr_truncated = False
        self.overflow = threading.Event()

    def consume(self, frames: Iterator[Frame]) -> None:
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


class DockerApiEngine:
    """The ``Engine`` protocol over the Docker Engine API: dockerd, or podman's compatible service."""

    def __init__(
        self,
        api: DockerApi,
        url: str,
        *,
        host_paths: tuple[str, ...] = (),
        spawn: Callable[[str], Engine] | None = None,
    ) -> None:
        self.api = api
        self._url = url
        self._host_paths = host_paths  # directories of this engine's own, never to be shown
        self._data_root: str | None = None
        # A podman service imagegolf started: ``spawn(runtime)`` is its sibling service for another
        # runtime (started once, on first use, and stopped with this one).
        self._spawn = spawn
        self._runtimes_ok: set[str] = set()

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self.api.close()

    def describe(self) -> str:
        """``podman 4.3.1`` / ``docker 20.10.24`` at URL."""
        try:
            version = self.api.version()
        except _API_ERRORS as exc:
            raise self._silent(exc) from exc
        kind = "podman" if version.podman else "docker"
        return f"{kind} {version.version} at {self.url}"

    @property
    def kind(self) -> EngineKind:
        """``podman`` or ``docker``."""
        try:
            return "podman" if self.api.version().podman else "docker"
        except _API_ERRORS as exc:
            raise self._silent(exc) from exc

    def podman_runtime(self) -> str:
        """The runtime a podman service runs every container under (``runc`` for runc and crun)."""
        try:
            name = self.api.info().default_runtime
        except _API_ERRORS as exc:
            raise self._silent(exc) from exc
        base = name.rsplit("/", 1)[-1]
        return RUNC if base in ("runc", "crun") else base

    def for_runtime(self, runtime: str) -> Engine:
        """The engine that runs containers under ``runtime``: this one when it can (dockerd chooses
        the runtime per container; a podman service runs one), else the podman service imagegolf
        starts for that runtime beside this one. Raises EngineError when neither can."""
        if runtime in self._runtimes_ok or self.kind == "docker" or self.podman_runtime() == runtime:
            return self
        if self._spawn is None:
            podman = " ".join(podman_flags(runtime)) or "--runtime runc"  # podman's own flags
            raise EngineError(
                f"the podman service at {self.url} runs containers under {self.podman_runtime()}, not "
                f"{runtime}: podman's Docker-compatible API cannot choose the runtime per container",
                hint=f"start it with `podman {podman} system "
                "service …`, or unset DOCKER_HOST to let imagegolf start podman itself",
            )
        return self._spawn(runtime)

    def check_runtime(self, runtime: str) -> None:
        """Raise EngineError unless this engine runs containers under ``runtime`` as the sandbox needs."""
        if runtime in self._runtimes_ok:
            return
        if self.kind == "podman":
            current = self.podman_runtime()
            if current != runtime:
                raise EngineError(
                    f"the podman service at {self.url} runs containers under {current}, not {runtime}",
                    hint="judge through Engine.for_runtime, which starts a service for it",
                )
        else:
            try:
                runtimes = self.api.info().runtimes
            except _API_ERRORS as exc:
                raise self._silent(exc) from exc
            problem = docker_problem(runtimes, runtime)
            if problem:
                raise EngineError(
                    f"the Docker engine at {self.url} cannot run containers under {runtime}: {problem}",
                    hint=docker_hint(runtime),
                )
        self._runtimes_ok.add(runtime)

    def load(self, archive: bytes) -> list[str]:
        """Load a docker-loadable tar (our dual tar); return the image names it created."""
        try:
            names = self.api.load(archive)
        except ApiError as exc:
            said = self.scrub(exc.explanation)
            raise ImageRefused(f"the engine refused the image archive: {said}") from exc
        except ApiUnreachable as exc:
            raise EngineError(f"engine at {self.url} failed while loading: {exc}") from exc
        if not names:
            raise EngineError("the engine loaded the archive but reported no image")
        return names

    def has_image(self, reference: str) -> bool:
        """Whether the engine holds an image by this name or ID (a config digest names it too)."""
        try:
            self.api.image_size(reference)
        except ApiNotFound:
            return False
        except _API_ERRORS as exc:
            raise EngineError(f"engine at {self.url} failed to inspect {reference}: {exc}") from exc
        return True

    def stored_size(self, name: str) -> StoredSize | None:
        """The image's Size as this engine stores it, when that is one of imagegolf's metrics.

        podman's Size is the ``podman`` metric; dockerd's is ``docker_classic`` on the classic
        overlay2 store with native diffs (moby overlay2 ApplyDiff returns directory.Size of the
        layer; in naive-diff mode it sums header sizes instead). Other stores (containerd's
        snapshotter, other drivers) report something else: None.
        """
        try:
            size = self.api.image_size(name)
            info = self.api.info()
        except _API_ERRORS as exc:
            raise EngineError(f"engine at {self.url} failed to inspect {name}: {exc}") from exc
        if size is None:
            return None
        if self.kind == "podman":
            return StoredSize("podman", size)
        if info.driver == "overlay2" and info.driver_status.get("Native Overlay Diff") == "true":
            return StoredSize("docker_classic", size)
        return None

    def image_names(self) -> list[str]:
        """Every image name (``repo:tag``) the engine holds; empty when it does not answer."""
        with contextlib.suppress(*_API_ERRORS):
            return self.api.image_tags()
        return []

    def containers(self) -> list[tuple[str, str]]:
        """(id, image) of every container, stopped ones too; empty when the engine does not answer."""
        with contextlib.suppress(*_API_ERRORS):
            return self.api.containers()
        return []

    def remove_container(self, container_id: str) -> bool:
        """Remove a container (killing it first) and its anonymous volumes; False if that failed."""
        with contextlib.suppress(*_API_ERRORS):
            self.api.remove_container(container_id)
            return True
        return False

    def remove_image(self, name: str, *, force: bool = True) -> None:
        """Remove the image name (without ``force``, only this tag when the image has others)."""
        with contextlib.suppress(*_API_ERRORS):
            self.api.remove_image(name, force=force)

    def run(self, image: str, spec: RunSpec | None = None) -> RunResult:
        """Run ``image``'s own Entrypoint/Cmd under ``spec``; the container is always removed.

        The engine refusing to create or start the container is a result (``started`` is
        False, ``error`` says why, host paths scrubbed); the engine not answering, not seeing
        the sandbox's /etc files, or not running ``spec.runtime`` (``check_runtime``) raises
        :class:`EngineError`.
        """
        spec = spec or RunSpec()
        if not self.url.startswith(_LOCAL_SCHEMES):
            raise EngineError(
                f"the engine at {self.url} is not reached through a local socket: the sandbox mounts "
                "its own /etc/hosts, /etc/hostname and /etc/resolv.conf from files on this host",
                hint="run imagegolf on the engine's host, with DOCKER_HOST=unix://…",
            )
        self.check_runtime(spec.runtime)
        with etc_files() as etc_dir:
            result = self._run(image, spec, etc_dir)
            if etc_dir in result.error and "does not exist" in result.error:
                raise EngineError(
                    f"the engine at {self.url} cannot see the sandbox's files in {etc_dir}: it runs on "
                    "another host or in another mount namespace",
                    hint="run imagegolf where the engine runs",
                )
            return replace(result, error=self.scrub(result.error, etc_dir)) if result.error else result

    def scrub(self, text: str, *extra: str) -> str:
        """``text`` with this engine's host paths (its data root, its roots, ``extra``) replaced."""
        if self._data_root is None:
            self._data_root = ""
            with contextlib.suppress(*_API_ERRORS):
                self._data_root = self.api.info().root_dir
        return scrub_host_paths(text, (*self._host_paths, self._data_root, *extra))

    def _run(self, image: str, spec: RunSpec, etc_dir: str) -> RunResult:
        try:
            container_id = self.api.create_container(image, spec, etc_dir)
        except ApiError as exc:
            return never_started(exc.explanation)
        except ApiUnreachable as exc:
            raise self._gone(exc) from exc
        started = False
        try:
            result = self._attach_start_wait(container_id, spec)
            started = result.started
            return result
        finally:
            self.remove_container(container_id)
            if spec.runtime == RUNSC and not started:
                with contextlib.suppress(EngineError):
                    if self.kind == "docker":
                        reap_shim(container_id)

    def _silent(self, exc: Exception) -> EngineError:
        return EngineError(f"engine at {self.url} does not answer: {exc}")

    def _gone(self, exc: Exception) -> EngineError:
        return EngineError(f"engine at {self.url} stopped answering: {exc}")

    def _attach_start_wait(self, container_id: str, spec: RunSpec) -> RunResult:
        # Attach before start, so not one byte of a fast program's output is missed. podman
        # prepares the container (runc create) here: an exec failure can surface already.
        try:
            frames = self.api.attach(container_id)
        except ApiError as exc:
            return never_started(exc.explanation)
        except ApiUnreachable as exc:
            raise self._gone(exc) from exc
        streams = _CappedStreams(spec)
        reader = threading.Thread(target=streams.consume, args=(frames,), daemon=True)
        reader.start()
        started = time.monotonic()
        try:
            self.api.start(container_id)
        except ApiError as exc:
            return never_started(exc.explanation, _ms_since(started))
        except ApiUnreachable as exc:
            raise self._gone(exc) from exc
        exit_code: int | None = None
        timed_out = False
        waited: list[int | None] = []
        wait_error: list[str] = []

        def wait() -> None:
            try:
                waited.append(self.api.wait(container_id, spec.timeout_s + 30))
            except (*_API_ERRORS, OSError) as exc:
                wait_error.append(str(exc))

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
        wall_ms = _ms_since(started)
        reader.join(2)
        state = self._state(container_id)
        if exited and not streams.overflow.is_set():
            exit_code = _exit_status(waited[0] if waited else None, state)
        return RunResult(
            exit_code=None if timed_out else exit_code,
            stdout=bytes(streams.stdout),
            stderr=bytes(streams.stderr),
            wall_ms=wall_ms,
            stdout_truncated=streams.stdout_truncated,
            timed_out=timed_out,
            oom_killed=state.oom_killed,
            error=state.error or (wait_error[0] if wait_error else ""),
            stderr_truncated=streams.stderr_truncated,
            status_unknown=exit_code is None and not timed_out and not streams.overflow.is_set(),
        )

    def _has_exited(self, container_id: str) -> bool:
        return self._state(container_id).status in ("exited", "stopped", "dead")

    def _kill(self, container_id: str) -> None:
        with contextlib.suppress(*_API_ERRORS):
            self.api.kill(container_id)

    def _state(self, container_id: str) -> ContainerState:
        try:
            return self.api.container_state(container_id)
        except _API_ERRORS:
            return ContainerState()


def reap_shim(container_id: str, proc: str = "/proc") -> int:
    """Stop the containerd shim a container left behind; the number of processes signalled.

    When runsc fails to start a container (gVisor refuses the program), containerd's
    ``containerd-shim-runc-v2`` for it outlives the container: dockerd removes the container, the
    shim stays, with no task and no child, for good (measured: containerd 1.6.20, runsc 20240729;
    a runc start failure leaves none). Its command line names the container id, which is the
    judge's own, so the judge ends it (SIGTERM: it exits). Best effort: a judge that may not
    signal it (not root) leaves it, as before.
    """

    def its_shim(argv: list[bytes]) -> bool:
        return argv[0].endswith(b"containerd-shim-runc-v2") and container_id.encode() in argv

    signalled = []
    with contextlib.suppress(OSError):
        for pid in pids_where(its_shim, proc):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                signalled.append(pid)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(os.path.exists(f"{proc}/{pid}/cmdline") for pid in signalled):
        time.sleep(0.02)  # it exits within milliseconds; its parent (init) reaps it
    return len(signalled)


def _exit_status(waited: int | None, state: ContainerState) -> int | None:
    """The exit status, or None when the engine does not know it.

    podman's wait can answer -1 (or lose the container) when other clients share its store;
    the inspected state, read after the wait, is then the better witness.
    """
    inspected = state.exit_code if state.status in ("exited", "stopped") else None
    for candidate in (waited, inspected):
        if candidate is not None and candidate >= 0:
            return candidate
    return None


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
