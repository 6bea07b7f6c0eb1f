"""Checking a rung: the ``Check`` seam and its default, a run in the real engine.

A check takes an image and answers ``(verdict, reason)``. The default runs the image through the
judge's run path (``judge.sandbox_run``: load, run under the hardened ``RunSpec``, classify,
remove) and compares stdout with the message; the judge can be plugged in instead
(``run_ladder(..., check=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from imagegolf import oci
from imagegolf.ladder.elfinfo import interpreter

if TYPE_CHECKING:  # the docker SDK is imported only when a check runs
    from imagegolf.engine import Engine, RunResult, RunSpec

Check = Callable[[oci.Image], tuple[str, str]]
# A distro rootfs is far larger than a golf entry: the default caps are for hostile input.
LADDER_CAPS = oci.Caps(
    compressed_bytes=2 << 30,
    decompressed_bytes=8 << 30,
    compression_ratio=100_000,
    tar_entries=1_000_000,
    image_decompressed_bytes=8 << 30,
    image_tar_entries=1_000_000,
    read_seconds=600.0,
)


def engine_check(engine: Engine, message: bytes, spec: RunSpec | None = None) -> Check:
    """A check that runs each image in ``engine`` and expects exactly ``message`` on stdout."""

    def check(image: oci.Image) -> tuple[str, str]:
        from imagegolf.engine import ImageRefused, RunSpec
        from imagegolf.judge.sandbox_run import run_image

        try:
            (answer,) = run_image(
                engine, image, spec or RunSpec(), lambda run: verdict(run.result, message, image)
            )
        except ImageRefused as error:
            return "REJECTED_IMAGE", str(error)
        return answer

    return check


def verdict(result: RunResult, message: bytes, image: oci.Image) -> tuple[str, str]:
    """ACCEPTED, WRONG_OUTPUT, START_FAILED (with the missing loader named), RUNTIME_ERROR, TIMEOUT."""
    from imagegolf.judge.sandbox_run import start_failure

    if result.timed_out:
        return "TIMEOUT", f"still running after {result.wall_ms} ms"
    never_started = start_failure(result)
    if never_started:
        return "START_FAILED", f"{never_started}{diagnosis(image)}"
    if result.exit_code != 0:
        return "RUNTIME_ERROR", f"exit {result.exit_code}; stderr {result.stderr[:200]!r}"
    if result.stdout == message:
        return "ACCEPTED", f"printed the {len(message)}-byte message, exit 0, {result.wall_ms} ms"
    return "WRONG_OUTPUT", f"printed {result.stdout[:120]!r}, expected {message[:120]!r}"


def diagnosis(image: oci.Image) -> str:
    """'; /echo is dynamically linked: …' when the command's ELF asks for a loader the image lacks."""
    argv = image.config.argv
    if not argv or not argv[0].startswith("/"):
        return ""
    tree = oci.image_filesystem(image, caps=LADDER_CAPS, keep_data=True)  # the merged layers
    node = tree.file_node(argv[0].strip("/"))
    program = node.entry.data if node is not None else None
    loader = interpreter(program) if program else None
    if not loader or loader.strip("/") in tree.nodes:
        return ""
    return (
        f"; {argv[0]} is dynamically linked: its program interpreter {loader} is not in the image "
        "(link it statically, or add the loader and its libraries)"
    )
