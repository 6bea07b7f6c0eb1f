"""``imagegolf demo``: the README's main job, for now: build the record image, run it, show metrics."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from imagegolf import elf, oci, store
from imagegolf.cli import images
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.cli.message import DEFAULT_MESSAGE
from imagegolf.errors import CheckFailed
from imagegolf.platform import DEFAULT


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo", help="build the record image for the default phrase, run it, show metrics"
    )
    parser.add_argument("--phrase", default=DEFAULT_MESSAGE, help=f"default: {DEFAULT_MESSAGE!r}")
    parser.add_argument("-o", "--output", default="build/record.tar", help="where to keep the image")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.cli.run import load_and_run
    from imagegolf.engine import RunSpec, connect

    message = args.phrase.encode() + b"\n"
    ctx.out(f"imagegolf demo: the smallest image that prints {args.phrase!r}")
    started = time.monotonic()
    program, image = images.program_image(message, DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    path = store.write_dual_tar(image, Path(args.output), "localhost/imagegolf:record")
    ctx.out(
        f"built    {path} in {1000 * (time.monotonic() - started):.0f} ms: {DEFAULT}, "
        f"{len(program)}-byte ELF ({len(program) - len(message)} bytes + the message)"
    )
    ctx.out(f"digest   {image.manifest_digest}")
    with connect(ctx.environ) as engine:
        ctx.out(f"engine   {engine.describe()}")
        result = load_and_run(engine, image, RunSpec())
    ctx.out(f"run      exit {result.exit_code}, {result.wall_ms} ms, stdout {result.stdout!r}")
    metrics = oci.size_metrics(image).as_dict()
    ctx.out("size metrics (docker_classic is what `docker images` shows):")
    for metric, value in metrics.items():
        ctx.out(f"  {metric:<20} {value:>6}  {human_size(value)}")
    if result.exit_code != 0 or result.stdout != message:
        raise CheckFailed(f"the record image did not print the phrase: {result.error or result.stdout!r}")
    ctx.out(f"record   {human_size(metrics['docker_classic'])} — the seed's record was 73B")
    return 0
