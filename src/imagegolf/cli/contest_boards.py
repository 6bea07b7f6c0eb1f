"""``imagegolf contest board``: a contest's boards — show one, list them, add one, remove one.

A contest ranks the same judgements on one or more boards, each a metric plus filters (where the
message may come from, whether the exit status counts, which platforms); docs/contest.md,
"Boards". ``contest board`` shows the first board (``--name NAME`` or ``show NAME`` another);
``add`` and ``remove`` are audited events that build or drop the board's standings at once.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagegolf.cli.board import print_board
from imagegolf.cli.contest_args import Sub, contest_at
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.contest import Contest, boards, snapshot, summaries
from imagegolf.contest.board_admin import add_board, make_board, remove_board
from imagegolf.contest.export import export_json, summary_json
from imagegolf.contest.service import Database, opened

METRIC_HELP = "docker_classic, containerd_content, podman, registry_compressed or pull_bytes"


def register(commands: Any, sub: Sub) -> None:
    """Add ``board`` and its actions to ``contest``'s ``commands`` (``sub``: contest_args.subcommand)."""
    board = sub(commands, "board", "a leaderboard and its record timeline; the contest's boards")
    board.add_argument("--name", metavar="NAME", help="which board (default: the contest's first)")
    board.add_argument("--json", action="store_true", help="the board, unranked entrants and records")
    board.set_defaults(handler=run_show, board_name=None)
    actions = board.add_subparsers(dest="board_command", metavar="ACTION", parser_class=type(board))

    show = _action(actions, "show", "a board and its record timeline (like --name NAME)")
    show.add_argument("board_name", metavar="NAME")
    show.set_defaults(handler=run_show)

    listing = _action(actions, "list", "the contest's boards: rules, leader, record")
    listing.set_defaults(handler=run_list)

    add = _action(actions, "add", "add a board: a metric plus filters (an audited event; ranked at once)")
    add.add_argument("new_name", metavar="NAME", help="lower-case letters, digits and '-' (in URLs)")
    add.add_argument("--metric", required=True, help=f"what ranks: {METRIC_HELP}")
    add.add_argument(
        "--message",
        choices=("anywhere", "files"),
        default="anywhere",
        help="where the phrase may come from: anywhere (files or CMD, the default), or files only "
        "(an image whose config or manifest holds the phrase is REJECTED_IMAGE on the board)",
    )
    add.add_argument(
        "--exit",
        choices=("zero", "any"),
        default="zero",
        help="whether a program must exit 0 (zero, the default) or any status counts (any)",
    )
    add.add_argument(
        "--platform",
        metavar="P[,P…]",
        help="the judged platforms the board takes (default: every platform the contest judges)",
    )
    add.add_argument("--title", default="", help="how pages name it (default: its name)")
    add.add_argument("--actor", default="admin", help="who, in the events (admin)")
    add.set_defaults(handler=run_add)

    remove = _action(actions, "remove", "remove a board and its standings (never the last one)")
    remove.add_argument("gone_name", metavar="NAME")
    remove.add_argument("--actor", default="admin", help="who, in the events (admin)")
    remove.set_defaults(handler=run_remove)


def _action(actions: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """An action of ``contest board``. Its options do not reset what was given before the action
    (``contest board --db X add …`` and ``contest board add … --db X`` mean the same)."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text, description=help_text)
    parser.add_argument(
        "--db", metavar="URL", default=argparse.SUPPRESS, help="SQLite file or postgresql://…"
    )
    parser.add_argument("--contest", metavar="NAME", default=argparse.SUPPRESS, help="which contest")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as JSON")
    return parser


# show


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    name = args.board_name or args.name
    with opened(contest_at(args, ctx)) as (db, contest):
        if args.json:
            ctx.out(json.dumps(board_json(db, contest, name), indent=2))
            return 0
        print_board(db, contest, ctx, name)
    return 0


def board_json(db: Database, contest: Contest, name: str | None) -> dict[str, Any]:
    """What ``contest board --json`` prints: the contest, the board (its rows), the unranked
    entrants, the record timeline, and the board's rules."""
    data = export_json(snapshot(db, contest, name))
    return {k: data[k] for k in ("contest", "board", "unranked", "records", "board_rules")}


# list


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        found = summaries(db, contest)
    if args.json:
        ctx.out(json.dumps([summary_json(s) for s in found], indent=2))
        return 0
    ctx.out(f"contest {contest.name!r}: {len(found)} board(s); the first is the main one")
    for summary in found:
        board = summary.board
        title = f" ({board.title})" if board.title and board.title != board.name else ""
        ctx.out(f"  {board.name}{title}: {board.describe()}")
        leader = summary.leader
        if leader is None:
            ctx.out("      nobody ranked yet")
        else:
            ctx.out(
                f"      1. {leader.entrant} {human_size(leader.size)} ({leader.size} B); "
                f"{summary.totals.ranked} ranked, {summary.totals.records} record(s)"
            )
    return 0


# add and remove


def run_add(args: argparse.Namespace, ctx: Context) -> int:
    board = make_board(
        args.new_name,
        args.metric,
        message=args.message,
        exit=args.exit,
        platforms=args.platform,
        title=args.title,
    )
    with opened(contest_at(args, ctx)) as (db, contest):
        added = add_board(db, contest, board, actor=args.actor)
        summary = next(s for s in summaries(db, contest) if s.board.name == added.name)
    if args.json:
        ctx.out(json.dumps(summary_json(summary), indent=2))
        return 0
    ctx.out(f"board {added.name!r} added to contest {contest.name!r} by {args.actor} (one board_added event)")
    ctx.out(f"  {added.describe()}")
    ctx.out(
        f"  ranked from the judgements on record: {summary.totals.ranked} entrant(s) on it, "
        f"{summary.totals.records} record(s)"
    )
    judged = set(contest.platforms)
    if judged and added.platforms and not set(added.platforms) & judged:
        shown = ", ".join(map(str, contest.platforms))
        ctx.out(f"  note: the contest judges {shown}: nothing judged lands on this board")
    ctx.out(f"see it: imagegolf contest board --name {added.name}")
    return 0


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        first = contest.metric
        gone, now = remove_board(db, contest, args.gone_name, actor=args.actor)
        left = boards(db, now)
    if args.json:
        ctx.out(json.dumps({"removed": gone.to_json(), "boards": [b.to_json() for b in left]}, indent=2))
        return 0
    ctx.out(f"board {gone.name!r} removed from contest {now.name!r} by {args.actor} (a board_removed event)")
    ctx.out(f"  boards now: {', '.join(b.name for b in left)} (the first, {left[0].name}, is the main one)")
    if now.metric != first:
        ctx.out(f"  the contest's metric is the first board's: {now.metric}")
    return 0
