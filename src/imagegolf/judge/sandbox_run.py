"""The one run path: load imagegolf's own tar of an image, run it in the sandbox, classify, remove.

The judge, the ladder's check and ``imagegolf run`` all run images through ``run_image``, and
decide "the program never started" with ``start_failure``. The judge's images carry their load
time in their name, so ``sweep_leftovers`` can remove what a killed judge left in the engine.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from imagegolf.engine.protocol import Engine, ImageRefused, RunResult
from imagegolf.engine.sandbox import RunSpec
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import SizeMetrics
from imagegolf.store.write import dual_tar_bytes

JUDGE_IMAGE_PREFIX = "localhost/imagegolf-judge-"
# What `docker run` returns when the runtime fails (125), the command is not executable (126)
# or not found (127): no evidence that the program ever ran (docs/judge.md #20).
START_FAILURE_CODES = frozenset({125, 126, 127})
# runc's own message when execve fails after the container was set up (exit status 1); it is all
# of stderr.
RUNC_EXEC_ERROR = re.compile(
    rb"\Aexec [^\n]*: (no such file or directory|exec format error|permission denied)\n?\Z"
)
_ERROR_CHARS = 300
T = TypeVar("T")


def judge_image_name(short_digest: str) -> str:
    """A private name for one run's image: the load time, then randomness (no clashes)."""
    return f"{JUDGE_IMAGE_PREFIX}{int(time.time())}-{secrets.token_hex(4)}:{short_digest}"


def judge_image_time(name: str) -> float:
    """The load time in a ``judge_image_name``; +inf for any other name (never swept)."""
    if not name.startswith(JUDGE_IMAGE_PREFIX):
        return math.inf
    stamp = name[len(JUDGE_IMAGE_PREFIX) :].split("-", 1)[0]
    return float(stamp) if stamp.isdigit() else math.inf


def start_failure(result: RunResult, diagnosis: str | None = None) -> str | None:
    """Why the program never started, or None when it ran.

    Never started: the engine could not create or start the container, the exit status is
    125/126/127, or a non-zero exit with nothing on stdout and runc's exec error as stderr.
    ``diagnosis`` (what the image's layers show, e.g. a missing program interpreter) replaces the
    engine's words, and on its own makes a silent non-zero exit a start failure. A run that was
    killed (wall time, output cap) had started.
    """
    if not result.started:
        return diagnosis or f"the engine could not start the container: {clip(result.error)}"
    code = result.exit_code
    if code is None:
        return None
    if code in START_FAILURE_CODES:
        return diagnosis or f"exit status {code}: the runtime could not execute the command"
    if code != 0 and not result.stdout and (diagnosis or RUNC_EXEC_ERROR.match(result.stderr)):
        return diagnosis or f"the runtime could not execute the command: {clip(result.stderr)}"
    return None


@dataclass(frozen=True)
class SandboxRun:
    """One run and the start-failure classifier's answer for it."""

    result: RunResult
    never_started: str | None  # why the program never ran (``start_failure``); None when it ran


def run_image(
    engine: Engine,
    image: Image,
    spec: RunSpec,
    verdict: Callable[[SandboxRun], T],
    *,
    runs: int = 1,
    again: Callable[[T], bool] = lambda _: True,
    diagnosis: str | None = None,
    name: str | None = None,
    keep: bool = False,
    expected: SizeMetrics | None = None,
) -> list[T]:
    """Load the image as a tar imagegolf writes itself, run it up to ``runs`` times under ``spec``,
    give each run its ``verdict``, and remove the name it was loaded under (unless ``keep``).

    A run whose exit status the engine lost is repeated once. After each run, ``again(verdict)``
    decides whether to go on. The name is a fresh ``judge_image_name`` unless ``name`` is given;
    removing it leaves the image's other names. ``ImageRefused`` and ``EngineError`` propagate.
    With ``expected`` (the judge's metrics of the image), the size the engine stores is checked
    against the matching metric first, where the engine reports one: ``SizeMismatch`` if not.
    """
    name = name or judge_image_name(image.manifest_digest.short)
    # podman adds each manifest it loads an image ID with to that image's Size: only an image new
    # to the store has the size of this one manifest (docker's size is of the layers alone).
    fresh = expected is not None and not engine.has_image(str(image.config.digest))
    engine.load(dual_tar_bytes(image, name))
    verdicts: list[T] = []
    try:
        if expected is not None:
            cross_check(engine, name, image, expected, fresh=fresh)
        for _ in range(runs):
            result = engine.run(name, spec)
            if result.status_unknown:  # that run proves nothing: once more
                result = engine.run(name, spec)
            verdicts.append(verdict(SandboxRun(result, start_failure(result, diagnosis))))
            if not again(verdicts[-1]):
                break
    finally:
        if not keep:
            engine.remove_image(name, force=False)
    return verdicts


class SizeMismatch(ImageRefused):
    """The engine stores the image at another size than the judge measured: they read it differently."""


def cross_check(
    engine: Engine, name: str, image: Image, expected: SizeMetrics, *, fresh: bool = True
) -> None:
    """Refuse the image when the engine's own size of it differs from the judge's metric.

    ``fresh``: the image ID was new to the engine's store before this load; podman's size of an
    image it already held counts every manifest it was loaded with, so it is not compared then.
    """
    stored = engine.stored_size(name)
    if stored is None or (stored.metric == "podman" and not fresh):
        return
    measured = int(getattr(expected, stored.metric))
    if stored.metric == "podman":
        # The judge loads the chosen image alone; pulled through an index, podman would also
        # store the index, which the ``podman`` metric counts.
        measured -= len(image.index or b"")
    if stored.size != measured:
        raise SizeMismatch(
            f"the engine stores this image at {stored.size} bytes ({stored.metric}), but the judge read "
            f"{measured}: the two read its layers differently, so no size can be trusted (refused)"
        )


def sweep_leftovers(engine: Engine, older_than_s: float) -> tuple[int, int]:
    """Remove the judge's images (and their containers) loaded more than ``older_than_s`` ago.

    ``run_image`` removes its own; these are what a process killed mid-run (SIGKILL) left behind.
    The load time is in the name (``judge_image_name``), so a live run's image is never touched.
    Returns (containers, images) removed.
    """
    cutoff = time.time() - older_than_s
    stale = {name for name in engine.image_names() if judge_image_time(name) < cutoff}
    containers = sum(
        engine.remove_container(container_id)
        for container_id, image in engine.containers()
        if image in stale or judge_image_time(image) < cutoff
    )
    for name in stale:
        engine.remove_image(name, force=False)
    return containers, len(stale)


def clip(text: str | bytes) -> str:
    """One line of at most 300 characters."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "…"
