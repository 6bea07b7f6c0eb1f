"""An in-memory ``Engine`` for fast unit tests of the judge, the contest and the ladder.

``FakeEngine`` loads image archives into memory (read with imagegolf's own store/oci readers, so
an archive the judge writes wrongly fails here too), records every call, and answers ``run`` from
scripts: ``RunResult``s per image name, manifest or config digest, or entrypoint (the image's argv),
else ``default``. It reports the stored sizes it is given, refuses loads or vanishes on request.
Nothing runs and nothing touches the host: each test stays far under a second.

    engine = FakeEngine()
    engine.script(("/bin/busybox", "echo", "hi"), exited(0, b"hi\\n"))
    judge_one(source, fetch=..., engine=engine, options=...)
    assert engine.ops() == ["for_runtime", "describe", "has_image", "load", ...]
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from imagegolf.engine import Engine, ImageRefused, RunResult, RunSpec, StoredSize
from imagegolf.engine.protocol import EngineKind, never_started
from imagegolf.errors import EngineError
from imagegolf.oci.image import Image
from imagegolf.oci.layout import DOCKER_MANIFEST_FILE, INDEX_FILE, blob_path
from imagegolf.oci.resolve import image_from_index
from imagegolf.store.archive import ArchiveMembers

ScriptKey = str | tuple[str, ...]  # an image name, a digest ("sha256:…"), or an argv
Answer = RunResult | Exception | Callable[[Image, RunSpec], RunResult]


def exited(code: int = 0, stdout: bytes = b"", stderr: bytes = b"", *, wall_ms: int = 5) -> RunResult:
    """A run that ended by itself with status ``code``."""
    return RunResult(code, stdout, stderr, wall_ms, False, False, False, "")


def timed_out(stdout: bytes = b"", *, wall_ms: int = 10_000) -> RunResult:
    """A run killed at the wall-time limit."""
    return RunResult(None, stdout, b"", wall_ms, False, True, False, "")


def oom_killed(stdout: bytes = b"") -> RunResult:
    return RunResult(137, stdout, b"", 50, False, False, True, "")


def flooded(stdout: bytes) -> RunResult:
    """A run stopped because stdout passed its cap."""
    return RunResult(None, stdout, b"", 50, True, False, False, "")


def status_lost(stdout: bytes = b"") -> RunResult:
    """A run whose exit status the engine lost (podman's wait answering -1)."""
    return RunResult(None, stdout, b"", 5, False, False, False, "", status_unknown=True)


def refused_to_start(error: str) -> RunResult:
    """The engine would not create or start the container."""
    return never_started(error)


@dataclass(frozen=True)
class Call:
    """One call the fake answered: the operation and its arguments."""

    op: str
    args: tuple[object, ...] = ()


@dataclass
class FakeEngine:
    """An ``Engine`` in memory. Attributes are the knobs; ``calls`` is what was asked."""

    kind_: EngineKind = "podman"
    version: str = "4.3.1"
    url_: str = "unix:///fake/engine.sock"
    runtimes: frozenset[str] = frozenset({"runc", "runsc"})
    default: Answer | None = None  # the answer for an image no script names
    sizes: Callable[[Image], StoredSize | None] = lambda image: None
    refuse_loads: str | None = None  # the engine's words when it refuses every archive
    calls: list[Call] = field(default_factory=list)
    images: dict[str, Image] = field(default_factory=dict)  # name -> image, as loaded
    live_containers: dict[str, str] = field(default_factory=dict)  # id -> image name
    vanished: bool = False
    _scripts: dict[ScriptKey, list[Answer]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    # -- knobs ---------------------------------------------------------------------------------

    def script(self, key: ScriptKey, *answers: Answer) -> FakeEngine:
        """Answer runs of the image ``key`` names with ``answers`` in turn, the last one repeated."""
        self._scripts[key] = list(answers)
        return self

    def vanish(self) -> None:
        """From now on the engine does not answer: every call raises EngineError."""
        self.vanished = True

    def leave_container(self, image: str) -> str:
        """A container left behind (by a judge killed mid-run); its id."""
        container_id = f"c{next(self._ids):063d}"
        self.live_containers[container_id] = image
        return container_id

    def ops(self) -> list[str]:
        return [call.op for call in self.calls]

    # -- the Engine protocol -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.url_

    @property
    def kind(self) -> EngineKind:
        self._answer("kind")
        return self.kind_

    def describe(self) -> str:
        self._answer("describe")
        return f"{self.kind_} {self.version} at {self.url_}"

    def for_runtime(self, runtime: str) -> Engine:
        self._answer("for_runtime", runtime)
        self.check_runtime(runtime)
        return self

    def check_runtime(self, runtime: str) -> None:
        if runtime not in self.runtimes:
            raise EngineError(f"the fake engine at {self.url_} has no runtime {runtime}")

    def load(self, archive: bytes) -> list[str]:
        self._answer("load", len(archive))
        if self.refuse_loads is not None:
            raise ImageRefused(f"the engine refused the image archive: {self.refuse_loads}")
        members = ArchiveMembers(archive)
        image = image_from_index(members.read(INDEX_FILE), lambda d: members.read(blob_path(d.digest)))
        (entry,) = json.loads(members.read(DOCKER_MANIFEST_FILE))
        names = list(entry.get("RepoTags") or [str(image.config.digest)])
        for name in names:
            self.images[name] = image
        return names

    def has_image(self, reference: str) -> bool:
        self._answer("has_image", reference)
        return self._image(reference) is not None

    def stored_size(self, name: str) -> StoredSize | None:
        self._answer("stored_size", name)
        image = self._image(name)
        if image is None:
            raise EngineError(f"engine at {self.url_} failed to inspect {name}: no such image")
        return self.sizes(image)

    def run(self, image: str, spec: RunSpec | None = None) -> RunResult:
        spec = spec or RunSpec()
        self._answer("run", image, spec)
        self.check_runtime(spec.runtime)
        loaded = self._image(image)
        if loaded is None:
            return refused_to_start(f"no such image: {image}")
        container_id = self.leave_container(image)
        try:
            answer = self._next_answer(image, loaded)
            if isinstance(answer, Exception):
                raise answer
            return answer(loaded, spec) if callable(answer) else answer
        finally:
            del self.live_containers[container_id]

    def remove_image(self, name: str, *, force: bool = True) -> None:
        self._answer("remove_image", name, force)
        self.images.pop(name, None)

    def image_names(self) -> list[str]:
        if self.vanished:
            return []
        self.calls.append(Call("image_names"))
        return list(self.images)

    def containers(self) -> list[tuple[str, str]]:
        if self.vanished:
            return []
        self.calls.append(Call("containers"))
        return list(self.live_containers.items())

    def remove_container(self, container_id: str) -> bool:
        if self.vanished:
            return False
        self.calls.append(Call("remove_container", (container_id,)))
        return self.live_containers.pop(container_id, None) is not None

    def scrub(self, text: str, *extra: str) -> str:
        for path in extra:
            text = text.replace(path, "<host path>")
        return text

    def close(self) -> None:
        self.calls.append(Call("close"))

    # -- inside --------------------------------------------------------------------------------

    def _answer(self, op: str, *args: object) -> None:
        if self.vanished:
            raise EngineError(f"engine at {self.url_} stopped answering")
        self.calls.append(Call(op, args))

    def _image(self, reference: str) -> Image | None:
        if reference in self.images:
            return self.images[reference]
        return next((i for i in self.images.values() if str(i.config.digest) == reference), None)

    def _next_answer(self, name: str, image: Image) -> Answer:
        keys: Sequence[ScriptKey] = (
            name,
            str(image.manifest_digest),
            str(image.config.digest),
            image.config.argv,
        )
        for key in keys:
            answers = self._scripts.get(key)
            if answers:
                return answers.pop(0) if len(answers) > 1 else answers[0]
        if self.default is None:
            raise AssertionError(f"no run is scripted for {name} (argv {list(image.config.argv)})")
        return self.default
