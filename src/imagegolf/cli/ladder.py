"""``imagegolf ladder``: rebuild the seed's ladder of techniques, check each rung, compare sizes."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from imagegolf import ladder, oci
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.cli.options import add_json_argument, add_message_arguments, message_bytes
from imagegolf.errors import OutputError
from imagegolf.judge import JudgeOptions, judge_one
from imagegolf.judge.engines import connect

OTHER_METRICS = ("containerd_content", "podman", "registry_compressed", "pull_bytes")
HEADERS = ("rung", "technique", "size", "post", "verdict", "content", "podman", "registry", "pull")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "ladder",
        help="rebuild the seed's ladder of techniques (distro → busybox → Go → C → asm → teensy)",
        description="Build every rung of the seed's ladder with real toolchains, run each in the engine, "
        "and print our sizes beside the post's. A rung whose toolchain is missing is SKIPPED with "
        "the command that installs it. Rungs: " + ", ".join(ladder.STRATEGIES) + ".",
    )
    add_message_arguments(parser)
    parser.add_argument("--only", action="append", default=[], metavar="NAMES",
                        help="only these rungs (comma-separated, repeatable)")  # fmt: skip
    parser.add_argument("--skip", action="append", default=[], metavar="NAMES",
                        help="leave these rungs out (comma-separated, repeatable)")  # fmt: skip
    parser.add_argument("--chart", metavar="FILE", help="write a log-scale chart (.png or .svg)")
    add_json_argument(parser, "print the results as JSON")
    parser.add_argument("-o", "--output-dir", metavar="DIR", help="keep every image as DIR/NN-RUNG.tar")
    parser.add_argument("--no-check", action="store_true", help="build and measure only; run nothing")
    parser.set_defaults(handler=run)


def _names(values: Sequence[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@contextlib.contextmanager
def _checker(ctx: Context, message: bytes, enabled: bool) -> Iterator[ladder.Check | None]:
    if not enabled:
        yield None
        return
    # Each rung is judged by the contest's judge (stage 1 screening, the sandboxed run, the
    # verdict), on the image value the ladder built: nothing goes through a file in between.
    options = JudgeOptions(phrase=message.decode("utf-8", "replace").strip(), runs=1)
    with connect(ctx.environ) as engine:

        def check(image: oci.Image) -> tuple[str, str]:
            judged = judge_one(
                str(image.manifest_digest),
                fetch=lambda _source, _platform: image,
                engine=engine,
                options=options,
            )
            return str(judged.verdict), judged.reason

        yield check


def run(args: argparse.Namespace, ctx: Context) -> int:
    message = message_bytes(args)
    rungs = ladder.select(_names(args.only), _names(args.skip))
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {output_dir}: {error.strerror}") from None
    started = time.monotonic()
    with _checker(ctx, message, not args.no_check) as check:
        results = ladder.run_ladder(
            message, rungs, check=check, progress=ctx.err, environ=ctx.environ, output_dir=output_dir
        )
    elapsed = time.monotonic() - started
    if args.chart:
        # Start-up speed: matplotlib (~300 ms) only when a chart is asked for.
        from imagegolf.ladder.chart import write_chart

        title = f"The seed's ladder rebuilt: {message.decode('utf-8', 'replace').strip()!r}"
        write_chart(results, Path(args.chart), label=human_size, title=title)
    if args.json:
        document = {"message": message.decode("utf-8", "replace"), "seconds": round(elapsed, 1),
                    "rungs": [r.to_json() for r in results]}  # fmt: skip
        ctx.out(json.dumps(document, indent=2))
    else:
        print_table(ctx, results)
        ctx.out(f"{sum(r.as_expected for r in results)}/{len(results)} rungs as expected in {elapsed:.1f} s")
        if args.chart:
            ctx.out(f"chart    {args.chart}")
    return 0 if all(r.as_expected for r in results) else 1


def table_rows(results: Sequence[ladder.RungResult]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        m = r.metrics.as_dict() if r.metrics else {}
        size = human_size(m["docker_classic"]) if m else "–"
        post = human_size(r.strategy.post.size) if r.strategy.post else "–"
        verdict = r.verdict if r.verdict == r.strategy.expected else f"{r.verdict}*"
        others = [human_size(m[k]) if m else "–" for k in OTHER_METRICS]
        rows.append((r.name, r.strategy.technique, size, post, verdict, *others))
    return rows


def print_table(ctx: Context, results: Sequence[ladder.RungResult]) -> None:
    rows = [HEADERS, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    right = {2, 3, 5, 6, 7, 8}
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        ctx.out("  ".join(cells).rstrip())
    ctx.out("size: docker images SIZE (docker_classic); post: the seed's figure for the same rung; "
            "* = not the verdict the ladder expects")  # fmt: skip
    for r in results:
        if r.verdict != ladder.ACCEPTED:
            ctx.out(f"  {r.name}: {r.verdict} (expected {r.strategy.expected}): {r.reason}")
