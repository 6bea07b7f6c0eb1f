"""``imagegolf run SOURCE``: load into the local engine and run it in the sandbox."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from imagegolf import oci, store
from imagegolf.cli import images, sources
from imagegolf.cli.context import Context
from imagegolf.errors import CheckFailed

if TYPE_CHECKING:  # the docker SDK costs ~80 ms to import: only commands that run load it
    from imagegolf.engine import Engine, RunResult, RunSpec

START_FAILED_EXIT = 125  # what `docker run` returns when the container cannot start
TIMEOUT_EXIT = 124  # what timeout(1) returns


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run an image in the sandbox; its stdout and exit code pass through",
        description="Load SOURCE into the local engine (DOCKER_HOST, Docker, or podman, which imagegolf "
        "starts itself when none runs) and run it with no network, a read-only root, no capabilities, "
        "no-new-privileges, pids/memory limits and an unprivileged user.",
    )
    parser.add_argument("source", metavar="SOURCE", help=sources.SOURCE_HELP)
    images.add_platform_argument(parser, None)
    sources.add_registry_arguments(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="wall-time limit in seconds (default 10)")
    parser.add_argument("--keep", action="store_true", help="leave the loaded image in the engine")
    parser.set_defaults(handler=run)


def load_and_run(engine: Engine, image: oci.Image, spec: RunSpec, *, keep: bool = False) -> RunResult:
    """Load the verified image as a tar imagegolf writes itself, run it, remove it unless kept."""
    name = f"localhost/imagegolf-run:{image.manifest_digest.short}"
    loaded = engine.load(store.dual_tar_bytes(image, name))
    try:
        return engine.run(loaded[0], spec)
    finally:
        if not keep:
            for loaded_name in loaded:
                engine.remove_image(loaded_name)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.engine import RunSpec, connect

    spec = RunSpec(timeout_s=args.timeout)
    image = sources.read_source(args, ctx, images.parse_platform(args.platform))
    with connect(ctx.environ) as engine:
        result = load_and_run(engine, image, spec, keep=args.keep)
    ctx.stdout.flush()
    ctx.stdout_bytes.write(result.stdout)
    ctx.stdout_bytes.flush()
    if result.stderr:
        ctx.stderr.write(result.stderr.decode("utf-8", "replace"))
    return exit_status(result, ctx)


def exit_status(result: RunResult, ctx: Context) -> int:
    """The container's exit code, or a documented code with a one-line reason."""
    if result.stdout_truncated:
        ctx.err(f"imagegolf: output stopped at the {len(result.stdout)}-byte cap; the container was killed")
    if result.timed_out:
        ctx.err("imagegolf: the container hit the wall-time limit and was killed")
        return TIMEOUT_EXIT
    if result.exit_code is None:
        raise CheckFailed(f"the container did not start: {result.error or 'no reason given by the engine'}")
    if result.oom_killed:
        ctx.err("imagegolf: the container ran out of memory")
    return result.exit_code
