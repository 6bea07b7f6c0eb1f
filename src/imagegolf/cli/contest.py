"""``imagegolf contest …``: create, watch, judge (workers), show, export, re-judge, disqualify.

Every sub-command takes ``--db URL`` (a SQLite file, the default ``contest.db`` or
$IMAGEGOLF_DB; or postgresql://…) and ``--contest NAME`` (needed only when the database holds
several contests). docs/contest.md has the rules and the data model.

The sub-commands are grouped by module: judging (watch, worker, rejudge: contest_judging), boards
(contest_boards), settings (set, reinstate, unfreeze: contest_settings), accounts and the
registry (contest_accounts), notifications (contest_notify); what they share is in
contest_args. Each calls the contest service (imagegolf.contest.service) or the contest's reads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegolf.cli import contest_accounts, contest_boards, contest_judging, contest_notify, contest_settings
from imagegolf.cli.contest_args import contest_at, db_url, subcommand, usage, with_flag_hints
from imagegolf.cli.context import Context
from imagegolf.cli.options import DEFAULT_MESSAGE
from imagegolf.contest import Contest, default_boards, disqualify, entrant, snapshot
from imagegolf.contest.export import export_csv, export_json, submission_row
from imagegolf.contest.model import Identity
from imagegolf.contest.service import ContestSpec, JudgingLimits, create, opened, reindex
from imagegolf.errors import OutputError, UsageError
from imagegolf.judge.engines import check_runtime


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "contest",
        help="run a contest: watch a shared repository, judge every pushed tag, rank (docs/contest.md)",
    )
    commands = parser.add_subparsers(dest="contest_command", metavar="ACTION", parser_class=type(parser))
    parser.set_defaults(handler=lambda _args, ctx: usage(parser, ctx))

    init = subcommand(commands, "init", "create a contest in the database (created if missing)")
    init.add_argument("--name", default="imagegolf", help="the contest's name (default imagegolf)")
    init.add_argument("--repository", required=True, metavar="REGISTRY/REPO", help="the shared repository")
    init.add_argument(
        "--phrase", default=DEFAULT_MESSAGE, help=f"what images must print ({DEFAULT_MESSAGE!r})"
    )
    init.add_argument("--match", default="contains", choices=("contains", "line", "exact"))
    init.add_argument("--metric", default="docker_classic", help="what ranks: docker_classic (default), …")
    init.add_argument(
        "--platform",
        metavar="P[,P…]",
        help="the platforms judged, in order of preference: which image of an index is taken, and "
        "which foreign ones run through emulation (default: the judge host's own, e.g. "
        "linux/amd64 then linux/386)",
    )
    init.add_argument(
        "--entrant-pattern",
        default=r"(?P<entrant>.+)",
        metavar="REGEX",
        help="a tag matching it is an entry of the group 'entrant' (default: the tag itself)",
    )
    init.add_argument(
        "--entrant",
        action="append",
        default=[],
        metavar="TAG=NAME",
        help="map a tag to an entrant explicitly (repeatable)",
    )
    init.add_argument(
        "--identity",
        choices=("tag", "registry-user"),
        default="tag",
        help="who an entry belongs to: the tag's name (tag, the default: the tag is trusted), or the "
        "registry account that pushed it, from the registry's notification (registry-user)",
    )
    init.add_argument(
        "--repositories",
        choices=("shared", "per-entrant"),
        default="shared",
        help="one shared repository (default), or REPOSITORY/ENTRANT per entrant, which only that "
        "entrant can push to (imagegolf is the registry's token server: contest registry)",
    )
    init.add_argument(
        "--freeze-at",
        metavar="TIME",
        help="ISO-8601; from then to the end the public board stops moving (docs/contest.md)",
    )
    init.add_argument("--starts", metavar="TIME", help="ISO-8601; pushes before it are not judged")
    init.add_argument("--ends", metavar="TIME", help="ISO-8601; pushes after it are not judged")
    init.add_argument(
        "--per-hour",
        type=int,
        default=30,
        metavar="N",
        help="submissions judged per entrant per hour; more wait their turn (30; 0: no limit)",
    )
    init.add_argument("--runs", type=int, default=3, metavar="N", help="runs per image (3)")
    init.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wall-time limit per run (10)")
    init.add_argument(
        "--no-cross-check",
        dest="cross_check",
        action="store_false",
        help="do not compare the size the engine stores with the judge's (a mismatch is REJECTED_IMAGE)",
    )
    init.add_argument(
        "--runtime",
        default="runc",
        metavar="NAME",
        help="runc (default), or runsc: images run under gVisor (docs/judge.md)",
    )
    init.set_defaults(handler=run_init)

    contest_judging.register(commands, subcommand)  # watch, worker
    contest_boards.register(commands, subcommand)  # board [--name N] [show N | list | add N … | remove N]

    history = subcommand(commands, "history", "every submission of one entrant")
    history.add_argument("entrant")
    history.add_argument("--board", metavar="NAME", help="statuses and sizes on this board (the first)")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=run_history)

    export = subcommand(commands, "export", "every submission, the board and the timeline, as CSV or JSON")
    form = export.add_mutually_exclusive_group(required=True)
    form.add_argument("--csv", action="store_true")
    form.add_argument("--json", action="store_true")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--board", metavar="NAME", help="states, places, timeline of this board (the first)")
    export.set_defaults(handler=run_export)

    contest_judging.register_rejudge(commands, subcommand)

    disqualifying = subcommand(
        commands, "disqualify", "disqualify a submission (by digest: every submission of it)"
    )
    disqualifying.add_argument("digest", metavar="DIGEST|ID")
    disqualifying.add_argument("--reason", required=True)
    disqualifying.add_argument("--actor", default="admin", help="who, in the events (admin)")
    disqualifying.set_defaults(handler=run_disqualify)

    rebuilding = subcommand(
        commands, "reindex", "rebuild the derived standings (board, statuses, timeline) from the events"
    )
    rebuilding.set_defaults(handler=run_reindex)

    contest_accounts.register(commands, subcommand)  # entrant add, remove, list; registry
    contest_settings.register(commands, subcommand)  # set, reinstate, unfreeze
    contest_notify.register(commands, subcommand)  # notify add, list, remove, send: outgoing webhooks
    with_flag_hints(parser)


# init


def run_init(args: argparse.Namespace, ctx: Context) -> int:
    mapping = {}
    for item in args.entrant:
        tag, sep, name = item.partition("=")
        if not sep or not tag or not name:
            raise UsageError(f"--entrant {item!r}: give TAG=NAME")
        mapping[tag] = name
    check_runtime(args.runtime, "--runtime")
    spec = ContestSpec(
        name=args.name,
        repository=args.repository,
        phrase=args.phrase,
        match=args.match,
        metric=args.metric,
        platform=args.platform,
        entrant_pattern=args.entrant_pattern,
        entrant_map=mapping,
        identity=args.identity,
        repositories=args.repositories,
        starts_at=args.starts,
        ends_at=args.ends,
        freeze_at=args.freeze_at,
        limits=JudgingLimits(
            per_entrant_per_hour=args.per_hour,
            runs=args.runs,
            timeout_s=args.timeout,
            cross_check=args.cross_check,
            runtime=args.runtime,
        ),
    )
    contest, where = create(db_url(args, ctx), spec)
    ctx.out(f"contest {contest.name!r} created in {where}")
    ctx.out(f"  watching  {contest.watched}{'/ENTRANT' if contest.per_entrant else ''} ({_who(contest)})")
    ctx.out(f"  phrase    {contest.phrase!r} ({contest.match.value}), ranked by {contest.metric}")
    names = ", ".join(b.name for b in default_boards(contest.metric))
    ctx.out(f"  boards    {names} (see them: imagegolf contest board list)")
    if contest.identity is Identity.REGISTRY_USER or contest.per_entrant:
        ctx.out(f"next: imagegolf contest entrant add NAME --db {args.db or db_url(args, ctx)}")
    ctx.out(f"next: imagegolf contest watch --db {args.db or db_url(args, ctx)}")
    return 0


def _who(contest: Contest) -> str:
    if contest.per_entrant:
        return "each entrant pushes to their own repository"
    if contest.identity is Identity.REGISTRY_USER:
        return "the registry account that pushed is the entrant"
    return f"a tag is an entrant: {contest.entrant_pattern}"


# reading


def run_history(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        first = entrant(db, contest, args.entrant, board=args.board)
        more = range(2, first.page.count + 1)
        pages = [first] + [entrant(db, contest, args.entrant, n, board=first.board.name) for n in more]
    states = [state for page in pages for state in page.states]
    places = {first.row.best.submission.id: first.row.place} if first.row else {}
    metric = first.board.metric
    if args.json:
        rows = [submission_row(s, metric, places.get(s.submission.id)) for s in states]
        ctx.out(json.dumps(rows, indent=2))
        return 0
    ctx.out(f"{args.entrant}: {len(states)} submission(s), board {first.board.name}, ranked by {metric}")
    for state in states:
        s = state.submission
        size = "-" if state.size is None else str(state.size)
        ctx.out(
            f"  #{s.id:<4} {s.first_seen:%Y-%m-%d %H:%M:%S}  {s.tag:<20} {str(s.digest)[:19]}  "
            f"{state.label:<20} {size:>9}  {state.reason}"
        )
    return 0


def run_export(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (_db, contest):
        snap = snapshot(_db, contest, args.board)
    text = export_csv(snap) if args.csv else json.dumps(export_json(snap), indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise OutputError(f"cannot write {args.output}: {error.strerror}") from error
        ctx.err(f"wrote {args.output} ({len(snap.standings.states)} submissions)")
    else:
        ctx.stdout.write(text)
    return 0


# organiser actions


def run_reindex(args: argparse.Namespace, ctx: Context) -> int:
    done = reindex(contest_at(args, ctx))
    meta = done.summary
    ctx.out(
        f"rebuilt {done.contest.name} from its events (through #{meta.applied_event}) "
        f"in {done.seconds:.1f} s: "
        f"{meta.submissions} submissions, {meta.entrants} entrants, {meta.ranked} on the board, "
        f"{meta.pending} pending"
    )
    return 0


def run_disqualify(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        count = disqualify(db, contest, args.digest, args.reason, actor=args.actor)
    ctx.out(f"disqualified {count} submission(s) of {args.digest}: {args.reason}")
    return 0
