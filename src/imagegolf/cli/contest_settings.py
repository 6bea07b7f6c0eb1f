"""``imagegolf contest set | reinstate | unfreeze``: the organiser changes a running contest.

``set`` changes settings (validated as ``contest init`` does; one audited ``settings_changed``
event; a metric change re-ranks the board at once; the rest apply to what is judged or pushed
next). ``reinstate`` undoes a disqualification. ``unfreeze`` shows the final board before the end.
docs/contest.md, "Changing a running contest" and "The freeze".
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagegolf.cli.contest_args import Sub, contest_at
from imagegolf.cli.context import Context
from imagegolf.contest import reinstate
from imagegolf.contest.service import opened
from imagegolf.contest.settings import advice, apply_settings, settings_of, unfreeze
from imagegolf.errors import UsageError

# Clears a time setting (`--starts none`: no start).
NONE = "none"


def register(commands: Any, sub: Sub) -> None:
    """Add the sub-commands to ``contest``'s ``commands`` (``sub``: contest_args.subcommand)."""
    settings = sub(
        commands,
        "set",
        "change settings of the running contest (one audited event; a metric change re-ranks at once)",
    )
    settings.add_argument("--metric", help="what ranks: docker_classic, containerd_content, podman, …")
    settings.add_argument(
        "--platform",
        metavar="P[,P…]",
        help="the platforms judged, in order of preference (`host`: the judge host's own); "
        "applies to what is judged next",
    )
    settings.add_argument("--starts", metavar="TIME", help=f"ISO-8601 start ({NONE}: no start)")
    settings.add_argument("--ends", metavar="TIME", help=f"ISO-8601 end ({NONE}: no end)")
    freeze = settings.add_mutually_exclusive_group()
    freeze.add_argument(
        "--freeze-at",
        metavar="TIME",
        help="ISO-8601: from then to the end the public board shows the standings as of then",
    )
    freeze.add_argument("--no-freeze", action="store_true", help="the public board does not freeze")
    settings.add_argument("--identity", choices=("tag", "registry-user"), help="who an entry belongs to")
    settings.add_argument("--per-hour", type=int, metavar="N", help="submissions judged per entrant per hour")
    settings.add_argument("--runs", type=int, metavar="N", help="runs per image")
    settings.add_argument("--timeout", type=float, metavar="S", help="wall-time limit per run")
    settings.add_argument(
        "--cross-check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare the size the engine stores with the judge's",
    )
    settings.add_argument("--runtime", metavar="NAME", help="runc, or runsc (gVisor): what images run under")
    settings.add_argument("--actor", default="admin", help="who, in the events (admin)")
    settings.add_argument("--json", action="store_true", help="the changes and the settings as JSON")
    settings.set_defaults(handler=run_set)

    back = sub(
        commands, "reinstate", "undo a disqualification (by digest: every disqualified submission of it)"
    )
    back.add_argument("digest", metavar="DIGEST|ID")
    back.add_argument("--reason", required=True)
    back.add_argument("--actor", default="admin", help="who, in the events (admin)")
    back.set_defaults(handler=run_reinstate)

    thaw = sub(commands, "unfreeze", "show the final board now, before the end of a frozen contest")
    thaw.add_argument("--actor", default="admin", help="who, in the events (admin)")
    thaw.set_defaults(handler=run_unfreeze)


def changes_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the options name (``contest set``), as :func:`apply_settings` takes them."""
    changes: dict[str, Any] = {}
    if args.metric is not None:
        changes["metric"] = args.metric
    if args.platform is not None:
        changes["platform"] = None if args.platform.strip().lower() == "host" else args.platform
    for option, name in (("starts", "starts_at"), ("ends", "ends_at"), ("freeze_at", "freeze_at")):
        value = getattr(args, option)
        if value is not None:
            changes[name] = None if value.strip().lower() == NONE else value
    if args.no_freeze:
        changes["freeze_at"] = None
    if args.identity is not None:
        changes["identity"] = args.identity
    for option, name in (
        ("per_hour", "per_entrant_per_hour"),
        ("runs", "runs"),
        ("timeout", "timeout_s"),
        ("cross_check", "cross_check"),
        ("runtime", "runtime"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[name] = value
    return changes


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    changes = changes_from(args)
    if not changes:
        raise UsageError(
            "name a setting to change",
            hint="--metric, --platform, --starts, --ends, --freeze-at, --no-freeze, --identity, "
            "--per-hour, --runs, --timeout, --cross-check, --runtime",
        )
    with opened(contest_at(args, ctx)) as (db, contest):
        change = apply_settings(db, contest, changes, actor=args.actor)
    if args.json:
        ctx.out(json.dumps({"changes": change.changes, "settings": settings_of(change.contest)}, indent=2))
        return 0
    name = change.contest.name
    if not change.changed:
        ctx.out(f"nothing changed: contest {name!r} already has these settings (no event recorded)")
        return 0
    ctx.out(f"contest {name!r}: settings changed by {args.actor} (one settings_changed event)")
    for setting, (old, new) in change.changes.items():
        ctx.out(f"  {setting}: {_shown(old)} → {_shown(new)}")
    for line in advice(change):
        ctx.out(line)
    return 0


def run_reinstate(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        count = reinstate(db, contest, args.digest, args.reason, actor=args.actor)
    ctx.out(f"reinstated {count} submission(s) of {args.digest}: {args.reason}")
    ctx.out("their judgements count again: see `imagegolf contest board`")
    return 0


def run_unfreeze(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        thawed = unfreeze(db, contest, actor=args.actor)
    assert thawed.unfrozen_at is not None
    ctx.out(
        f"contest {thawed.name!r} unfrozen at {thawed.unfrozen_at:%Y-%m-%d %H:%M:%S} UTC: "
        "the public pages show the final board now"
    )
    return 0


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)
