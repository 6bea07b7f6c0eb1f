"""``imagegolf judge SOURCE… --phrase TEXT``: verdicts and a ranking by size (docs/judge.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from imagegolf.cli import options
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.errors import UsageError
from imagegolf.images.source import Resolver, check_source
from imagegolf.judge import Judgement, JudgeOptions, MatchMode, judge_sources, rank
from imagegolf.judge.engines import RunSpec, check_runtime, connect
from imagegolf.judge.matching import printable
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.platform import Platform

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
        "ACCEPTED (with --rules: accepted on one of the contest's boards), 1 otherwise. Verdicts and rules: "
        "docs/judge.md.",
    )
    options.add_source_argument(parser, several=True)
    parser.add_argument(
        "--rules",
        metavar="URL",
        help="judge by a contest's rules, as its workers will, and show the verdict on each of its "
        "boards: the contest's address (http://127.0.0.1:8000) or its /api/rules. The rules set "
        "--phrase, --match, --metric, --runs, --platform, --timeout, --no-cross-check, --exit, "
        "--message and --runtime: none of them may be given with it",
    )
    parser.add_argument(
        "--phrase", metavar="TEXT", help="what the image must print (required without --rules)"
    )
    parser.add_argument(
        "--match",
        choices=MATCHES,
        default=None,
        metavar="MODE",
        help="contains (default: ASCII case-insensitive), line (one line is exactly it), "
        "exact (all of stdout, one trailing newline allowed)",
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        default=None,
        metavar="NAME",
        help=f"what ranks the images: {', '.join(METRICS)} (default docker_classic)",
    )
    parser.add_argument(
        "--runs", type=int, default=None, metavar="N", help="runs per image; all must pass (3)"
    )
    options.add_platform_argument(parser, None)
    parser.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="wall-time limit per run (10)"
    )
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="images judged at the same time (2)")
    parser.add_argument(
        "--no-cross-check",
        dest="cross_check",
        action="store_false",
        default=None,
        help="do not compare the size the engine stores with the judge's (on by default: a mismatch "
        "is REJECTED_IMAGE)",
    )
    parser.add_argument(
        "--exit",
        choices=("zero", "any"),
        default=None,
        help="zero (default): a program must exit 0; any: any exit status, if stdout is right",
    )
    parser.add_argument(
        "--message",
        choices=("anywhere", "files"),
        default=None,
        help="anywhere (default); files: an image whose config or manifest holds the phrase's bytes "
        "(an argv-mode CMD) is REJECTED_IMAGE",
    )
    parser.add_argument(
        "--runtime",
        default=None,
        metavar="NAME",
        help="runc (default): the host kernel runs the program; runsc: gVisor's sandbox kernel runs it "
        "(stricter about ELF headers, 64-bit only; docs/judge.md)",
    )
    options.add_json_argument(parser, "print the judgements as JSON (docs/judge.md)")
    options.add_registry_arguments(parser)
    parser.set_defaults(handler=run)


# The flags a contest's rules set (judge --rules refuses them), with their defaults without rules.
RULED: dict[str, tuple[str, object]] = {
    "phrase": ("--phrase", None),
    "match": ("--match", "contains"),
    "metric": ("--metric", "docker_classic"),
    "runs": ("--runs", 3),
    "platform": ("--platform", None),
    "timeout": ("--timeout", 10.0),
    "cross_check": ("--no-cross-check", True),
    "exit": ("--exit", "zero"),
    "message": ("--message", "anywhere"),
    "runtime": ("--runtime", "runc"),
}


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.rules is not None:
        refuse_ruled(args, "--rules")
    for source in args.sources:  # a SOURCE that is neither a path nor a reference is a usage error
        check_source(source)
    if args.rules is not None:
        return run_by_rules(args, ctx)
    if args.phrase is None:
        raise UsageError("--phrase TEXT is required", hint="or --rules URL: judge by a contest's rules")
    for name, (_flag, default) in RULED.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    settings = JudgeOptions(
        phrase=args.phrase,
        match=MatchMode(args.match),
        runs=args.runs,
        platforms=Platform.parse_list(args.platform) if args.platform else (),
        spec=RunSpec(timeout_s=args.timeout, runtime=check_runtime(args.runtime)),
        jobs=args.jobs,
        cross_check=args.cross_check,
        exit=ExitRule(args.exit),
        message=MessageRule(args.message),
    )
    fetch = Resolver(options.registry_access(args, ctx))  # one registry client per registry
    judgements = judge_sources(
        args.sources,
        fetch=fetch,
        engine=lambda: connect(ctx.environ, runtime=settings.runtime),
        options=settings,
    )
    ranked = rank(judgements, args.metric)
    if args.json:
        ctx.out(json.dumps([j.to_json() for j in ranked], indent=2))
    else:
        _print_table(ranked, args.metric, ctx)
    return 0 if all(j.accepted for j in ranked) else 1


def refuse_ruled(args: argparse.Namespace, rules_flag: str) -> None:
    """A flag the contest's rules set, given as well: refused (the rules would silently win)."""
    given = [flag for name, (flag, _default) in RULED.items() if getattr(args, name, None) is not None]
    if given:
        raise UsageError(
            f"{', '.join(given)}: the contest's rules set {'these' if len(given) > 1 else 'this'} "
            f"(with {rules_flag}); drop {'them' if len(given) > 1 else 'it'}",
            hint=f"or drop {rules_flag} to judge by your own rules",
        )


def run_by_rules(args: argparse.Namespace, ctx: Context) -> int:
    """``judge --rules URL``: the contest's options; each image's verdict on each of its boards.
    Exit 0 when every SOURCE is accepted on at least one board, 1 otherwise."""
    # Start-up speed and extras: the contest's rules and boards (the contest package) only with --rules.
    from imagegolf.cli import rules_client

    rules, _session = rules_client.fetch_rules(args, args.rules, "--rules")
    ctx.err(f"imagegolf: judging by the rules of {rules.describe()}")
    settings = rules.options(args.jobs)
    judgements = judge_sources(
        args.sources,
        fetch=Resolver(options.registry_access(args, ctx)),
        engine=lambda: connect(ctx.environ, runtime=settings.runtime),
        options=settings,
    )
    ranked = rank(judgements, rules.metric)
    boards = [rules_client.on_boards(rules, j) for j in ranked]
    if args.json:
        out = [
            {**j.to_json(), "boards": rules_client.boards_json(rows)}
            for j, rows in zip(ranked, boards, strict=True)
        ]
        ctx.out(json.dumps(out, indent=2))
    else:
        _print_table(ranked, rules.metric, ctx)
        for judgement, rows in zip(ranked, boards, strict=True):
            rules_client.print_boards(ctx, judgement, rows)
    return 0 if all(rules_client.accepted_somewhere(rows) for rows in boards) else 1


def _print_table(ranked: list[Judgement], metric: str, ctx: Context) -> None:
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
    lines = [f"{judgement.source}: note: {note}" for note in judgement.notes]
    if judgement.runs and not judgement.accepted and judgement.runs[-1].stderr:
        stderr = judgement.runs[-1].stderr.decode("utf-8", "replace").splitlines()
        lines.append(f"{judgement.source}: stderr of run {len(judgement.runs)}:")
        lines += [f"  {printable(line[:_LINE_CHARS])}" for line in stderr[:_STDERR_LINES]]
        if len(stderr) > _STDERR_LINES:
            lines.append(f"  … {len(stderr) - _STDERR_LINES} more lines")
    return lines
