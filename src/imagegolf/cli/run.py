"""``imagegolf run SOURCE``: load into the local engine and run it in the sandbox."""

from __future__ import annotations

import argparse
from typing import Any

from imagegolf.cli import images, options
from imagegolf.cli.context import Context
from imagegolf.errors import CheckFailed
from imagegolf.judge.engines import RunSpec, connect
from imagegolf.judge.sandbox_run import SandboxRun, run_image

TIMEOUT_EXIT = 124  # what timeout(1) returns
KEPT_NAME = "localhost/imagegolf-run"  # the name --keep leaves the image under (tag: short digest)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run an image in the sandbox; its stdout and exit code pass through",
        description="Load SOURCE into the local engine (DOCKER_HOST, Docker, or podman, which imagegolf "
        "starts itself when none runs) and run it with no network, a read-only root, no capabilities, "
        "no-new-privileges, pids/memory limits and an unprivileged user.",
    )
    options.add_source_argument(parser)
    options.add_platform_argument(parser, None)
    options.add_registry_arguments(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="wall-time limit in seconds (default 10)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"leave the loaded image in the engine as {KEPT_NAME}:DIGEST (not in the podman imagegolf "
        "starts itself: its private store is removed on exit)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    spec = RunSpec(timeout_s=args.timeout)
    image = options.read_source(args, ctx)
    images.say_choice(image, ctx)
    kept = f"{KEPT_NAME}:{image.manifest_digest.short}" if args.keep else None
    with connect(ctx.environ) as engine:
        (outcome,) = run_image(engine, image, spec, lambda one: one, name=kept, keep=args.keep)
    result = outcome.result
    ctx.stdout.flush()
    ctx.stdout_bytes.write(result.stdout)
    ctx.stdout_bytes.flush()
    if result.stderr:
        ctx.stderr.write(result.stderr.decode("utf-8", "replace"))
    return exit_status(outcome, ctx)


def exit_status(outcome: SandboxRun, ctx: Context) -> int:
    """The container's exit code, or a documented code with a one-line reason."""
    result = outcome.result
    if result.timed_out:
        ctx.err("imagegolf: the container hit the wall-time limit and was killed")
        return TIMEOUT_EXIT
    if result.output_limited:
        stream, kept = ("stdout", result.stdout) if result.stdout_truncated else ("stderr", result.stderr)
        raise CheckFailed(f"{stream} stopped at the {len(kept)}-byte cap; the container was killed")
    if outcome.never_started and result.exit_code is None:
        raise CheckFailed(f"the program never started: {outcome.never_started}")
    if outcome.never_started:
        ctx.err(f"imagegolf: the program never started: {outcome.never_started}")
    if result.exit_code is None:
        raise CheckFailed("the engine lost the container's exit status")
    if result.oom_killed:
        ctx.err("imagegolf: the container ran out of memory")
    return result.exit_code
