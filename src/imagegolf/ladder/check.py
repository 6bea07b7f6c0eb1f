"""Checking a rung: the ``Check`` seam and its default, a run in the real engine.

A check takes an image and answers ``(verdict, reason)``. The default loads the image into the
engine, runs it under the hardened ``RunSpec`` and compares stdout with the message; the judge
can be plugged in instead (``run_ladder(..., check=...)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from imagegolf import oci, store
from imagegolf.ladder.elfinfo import interpreter

if TYPE_CHECKING:  # the docker SDK is imported only when a check runs
    from imagegolf.engine import Engine, RunResult, RunSpec

Check = Callable[[oci.Image], tuple[str, str]]
RUNC_EXEC_ERROR = re.compile(
    rb"(exec failed: [^\n]*|exec [^\n]*): (no such file or directory|exec format error|permission denied)"
)
START_FAILED_EXITS = frozenset({125, 126, 127})  # docker/podman: cannot run, not executable, not found
# A distro rootfs is far larger than a golf entry: the default caps are for hostile input.
LADDER_CAPS = oci.Caps(
    compressed_bytes=2 << 30, decompressed_bytes=8 << 30, compression_ratio=100_000, tar_entries=1_000_000
)


def engine_check(engine: Engine, message: bytes, spec: RunSpec | None = None) -> Check:
    """A check that runs each image in ``engine`` and expects exactly ``message`` on stdout."""

    def check(image: oci.Image) -> tuple[str, str]:
        from imagegolf.engine import ImageRefused

        name = f"localhost/imagegolf-ladder:{image.manifest_digest.short}"
        try:
            loaded = engine.load(store.dual_tar_bytes(image, name))
        except ImageRefused as error:
            return "REJECTED_IMAGE", str(error)
        try:
            result = engine.run(loaded[0], spec)
        finally:
            for loaded_name in loaded:
                engine.remove_image(loaded_name)
        return verdict(result, message, image)

    return check


def verdict(result: RunResult, message: bytes, image: oci.Image) -> tuple[str, str]:
    """ACCEPTED, WRONG_OUTPUT, START_FAILED (with the missing loader named), RUNTIME_ERROR, TIMEOUT."""
    if result.timed_out:
        return "TIMEOUT", f"still running after {result.wall_ms} ms"
    if _start_failed(result):
        said = result.error or result.stderr.decode("utf-8", "replace").strip() or "no reason given"
        exit_text = "" if result.exit_code is None else f"exit {result.exit_code}: "
        return "START_FAILED", f"{exit_text}{said}{diagnosis(image)}"
    if result.exit_code != 0:
        return "RUNTIME_ERROR", f"exit {result.exit_code}; stderr {result.stderr[:200]!r}"
    if result.stdout == message:
        return "ACCEPTED", f"printed the {len(message)}-byte message, exit 0, {result.wall_ms} ms"
    return "WRONG_OUTPUT", f"printed {result.stdout[:120]!r}, expected {message[:120]!r}"


def _start_failed(result: RunResult) -> bool:
    """The engine could not start the program: no exit status, a 125–127 exit, or runc's exec error.

    runc reports a failed execve of the container's command from inside the container (podman
    then shows exit 1 and ``exec /echo: no such file or directory`` on stderr).
    """
    if result.exit_code is None or result.exit_code in START_FAILED_EXITS:
        return True
    return result.exit_code != 0 and not result.stdout and bool(RUNC_EXEC_ERROR.match(result.stderr))


def diagnosis(image: oci.Image) -> str:
    """'; /echo is dynamically linked: …' when the command's ELF asks for a loader the image lacks."""
    argv = image.config.argv
    if not argv or not argv[0].startswith("/"):
        return ""
    files = _files(image)
    program = files.get(argv[0].strip("/"))
    loader = interpreter(program) if program else None
    if not loader or loader.strip("/") in files:
        return ""
    return (
        f"; {argv[0]} is dynamically linked: its program interpreter {loader} is not in the image "
        "(link it statically, or add the loader and its libraries)"
    )


def _files(image: oci.Image) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for descriptor, layer in zip(image.manifest.layers, image.layers, strict=True):
        for entry in oci.layer_entries(layer, descriptor.media_type, caps=LADDER_CAPS, keep_data=True):
            files[entry.path.strip("/")] = entry.data or b""
    return files
