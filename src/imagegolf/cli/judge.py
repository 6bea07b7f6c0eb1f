"""``imagegolf judge SOURCE… --phrase TEXT``: verdicts and a ranking by size (docs/judge.md)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from imagegolf.cli import images, sources
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size

if TYPE_CHECKING:
    from imagegolf.judge import Fetch, Judgement
    from imagegolf.oci import Image
    from imagegolf.platform import Wanted
    from imagegolf.registry import RegistryClient

METRICS = ("docker_classic", "containerd_content", "podman", "registry_compressed", "pull_bytes")
MATCHES = ("contains", "line", "exact")
_STDERR_LINES = 5
_LINE_CHARS = 200


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "judge",
        help="judge images: does each print the phrase (safely)? rank the ones that do by size",
        description="Check each SOURCE's bytes (executing nothing), run it RUNS times in the hardened "
        "sandbox, give it a verdict, and rank the accepted ones by METRIC. Exit 0 if every image is "
        "ACCEPTED, 1 otherwise. Verdicts and rules: docs/judge.md.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help=sources.SOURCE_HELP)
    parser.add_argument("--phrase", required=True, metavar="TEXT", help="what the image must print")
    parser.add_argument(
        "--match",
        choices=MATCHES,
        default="contains",
        metavar="MODE",
        help="contains (default: ASCII case-insensitive), line (one line is exactly it), "
        "exact (all of stdout, one trailing newline allowed)",
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        default="docker_classic",
        metavar="NAME",
        help=f"what ranks the images: {', '.join(METRICS)} (default docker_classic)",
    )
    parser.add_argument("--runs", type=int, default=3, metavar="N", help="runs per image; all must pass (3)")
    images.add_platform_argument(parser, None)
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="wall-time limit per run (10)"
    )
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="images judged at the same time (2)")
    parser.add_argument(
        "--no-cross-check",
        dest="cross_check",
        action="store_false",
        help="do not compare the size the engine stores with the judge's (on by default: a mismatch "
        "is REJECTED_IMAGE)",
    )
    parser.add_argument(
        "--exit",
        choices=("zero", "any"),
        default="zero",
        help="zero (default): a program must exit 0; any: any exit status, if stdout is right",
    )
    parser.add_argument(
        "--message",
        choices=("anywhere", "files"),
        default="anywhere",
        help="anywhere (default); files: an image whose config or manifest holds the phrase's bytes "
        "(an argv-mode CMD) is REJECTED_IMAGE",
    )
    parser.add_argument("--json", action="store_true", help="print the judgements as JSON (docs/judge.md)")
    sources.add_registry_arguments(parser)
    parser.set_defaults(handler=run)


def make_fetch(args: argparse.Namespace, ctx: Context) -> Fetch:
    """The fetch seam for the CLI: files and OCI layouts, or a pull (tag resolved to a digest once)."""
    from imagegolf.judge import local_fetch

    clients: dict[str, RegistryClient] = {}

    def fetch(source: str, wanted: Wanted) -> Image:
        if sources.is_path(source):
            return local_fetch(source, wanted)
        ref = sources.parse_reference(source)
        if ref.registry not in clients:
            clients[ref.registry] = sources.registry_client(args, ctx, ref.registry)
        return clients[ref.registry].pull_image(ref, wanted)

    return fetch


def run(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.engine import RunSpec, connect
    from imagegolf.judge import JudgeOptions, MatchMode, judge_sources, rank
    from imagegolf.judge.options import ExitRule, MessageRule
    from imagegolf.platform import Platform

    for source in args.sources:  # a SOURCE that is neither a path nor a reference is a usage error
        if not sources.is_path(source):
            sources.parse_reference(source)
    options = JudgeOptions(
        phrase=args.phrase,
        match=MatchMode(args.match),
        runs=args.runs,
        platforms=Platform.parse_list(args.platform) if args.platform else (),
        spec=RunSpec(timeout_s=args.timeout),
        jobs=args.jobs,
        cross_check=args.cross_check,
        exit=ExitRule(args.exit),
        message=MessageRule(args.message),
    )
    fetch = make_fetch(args, ctx)
    judgements = judge_sources(
        args.sources, fetch=fetch, engine=lambda: connect(ctx.environ), options=options
    )
    ranked = rank(judgements, args.metric)
    if args.json:
        ctx.out(json.dumps([j.to_json() for j in ranked], indent=2))
    else:
        _print_table(ranked, args.metric, ctx)
    return 0 if all(j.accepted for j in ranked) else 1


def _print_table(ranked: list[Judgement], metric: str, ctx: Context) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=ctx.stdout, width=None if ctx.stdout.isatty() else 140, highlight=False)
    table = Table(title=f"imagegolf judge, ranked by {metric}", title_justify="left")
    for name, justify in (("#", "right"), ("source", "left"), ("verdict", "left"), (metric, "right")):
        table.add_column(name, justify=justify, no_wrap=name != "source")  # type: ignore[arg-type]
    table.add_column("digest", no_wrap=True)
    table.add_column("reason", ratio=1)
    place = 0
    for judgement in ranked:
        place += judgement.accepted
        value = judgement.metric(metric)
        table.add_row(
            str(place) if judgement.accepted else "-",
            Text(judgement.source),
            Text(judgement.verdict.value, style="green" if judgement.accepted else "red"),
            "-" if value is None else f"{human_size(value)} ({value})",
            judgement.digest.short if judgement.digest else "-",
            Text(judgement.reason),
        )
    console.print(table)
    for judgement in ranked:
        for line in _details(judgement):
            console.print(Text(line))


def _details(judgement: Judgement) -> list[str]:
    """Notes, and the stderr of the last run when the image was not accepted (shown, never judged)."""
    from imagegolf.judge.matching import printable

    lines = [f"{judgement.source}: note: {note}" for note in judgement.notes]
    if judgement.runs and not judgement.accepted and judgement.runs[-1].stderr:
        stderr = judgement.runs[-1].stderr.decode("utf-8", "replace").splitlines()
        lines.append(f"{judgement.source}: stderr of run {len(judgement.runs)}:")
        lines += [f"  {printable(line[:_LINE_CHARS])}" for line in stderr[:_STDERR_LINES]]
        if len(stderr) > _STDERR_LINES:
            lines.append(f"  … {len(stderr) - _STDERR_LINES} more lines")
    return lines
