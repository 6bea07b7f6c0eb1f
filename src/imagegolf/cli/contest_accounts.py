"""``imagegolf contest entrant add|remove|list`` and ``imagegolf contest registry``: the accounts of a
registry imagegolf runs for the contest, and that registry (docs/contest.md, "Who is who")."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegolf.cli.contest_args import ENV_HOOK_TOKEN, Sub, contest_at, printer, read_token, usage
from imagegolf.cli.context import Context
from imagegolf.contest import accounts
from imagegolf.contest.service import RegistryHostOptions, host_registry, opened
from imagegolf.errors import UsageError

ACTOR = "admin@cli"


def register(commands: Any, sub: Sub) -> None:
    entrant = sub(commands, "entrant", "registry accounts for entrants: add, remove, list")
    actions = entrant.add_subparsers(dest="entrant_command", metavar="ACTION", parser_class=type(entrant))
    entrant.set_defaults(handler=lambda _a, ctx: usage(entrant, ctx))
    add = sub(actions, "add", "create an entrant's registry account (or change its password)")
    add.add_argument("name", help="the entrant: their registry account and, per-entrant, repository")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (one line) from standard input; else one is made and printed once",
    )
    add.set_defaults(handler=run_add)
    remove = sub(actions, "remove", "delete an entrant's account (their submissions stay)")
    remove.add_argument("name")
    remove.set_defaults(handler=run_remove)
    listing = sub(actions, "list", "the entrant accounts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    registry = sub(
        commands,
        "registry",
        "run Debian's docker-registry for the contest: its accounts, notifications to the hook",
    )
    registry.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="where the registry listens (default: the contest's registry, e.g. 127.0.0.1:5000)",
    )
    registry.add_argument(
        "--notify",
        required=True,
        metavar="URL",
        help="where the contest is served (imagegolf serve, or contest watch --serve), e.g. "
        "http://127.0.0.1:8000: notifications go to URL/hooks/registry, token requests to URL/auth/token",
    )
    registry.add_argument(
        "--storage",
        metavar="DIR",
        help="the registry's storage and configuration (default ./imagegolf-registry-CONTEST)",
    )
    registry.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    registry.add_argument("--tls-key", metavar="FILE", help="and this key (PEM)")
    registry.add_argument(
        "--hook-token-file",
        metavar="FILE",
        help="the hook token the notifications carry (else $IMAGEGOLF_HOOK_TOKEN; the same as the server's)",
    )
    registry.set_defaults(handler=run_registry)


def run_add(args: argparse.Namespace, ctx: Context) -> int:
    accounts.check_name(args.name)
    if args.password_stdin:
        password = ctx.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input gave no password")
        made = False
    else:
        password, made = accounts.new_password(), True
    with opened(contest_at(args, ctx)) as (db, contest):
        new = accounts.add_entrant(db, contest, args.name, password, actor=ACTOR)
        what = "account created" if new else "password changed"
        ctx.out(f"{args.name}: {what} for contest {contest.name!r}")
        if made:
            ctx.out(f"password: {password}")
            ctx.err("imagegolf: the password is shown once: hand it to the entrant")
        where = contest.watched + (f"/{args.name}" if contest.per_entrant else "")
        ctx.out(f"they log in with: docker login {contest.registry} -u {args.name}   (or podman login)")
        ctx.out(f"and push to:      {where}:TAG")
    return 0


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        accounts.remove_entrant(db, contest, args.name, actor=ACTOR)
    ctx.out(f"{args.name}: account removed (their submissions stay on the record)")
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        names = accounts.entrants(db, contest)
    if args.json:
        ctx.out(json.dumps({"contest": contest.name, "entrants": names}, indent=2))
    elif not names:
        ctx.out("no entrant accounts yet: imagegolf contest entrant add NAME")
    else:
        for name in names:
            ctx.out(name)
    return 0


def run_registry(args: argparse.Namespace, ctx: Context) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    hook = read_token(args.hook_token_file, ctx.environ, ENV_HOOK_TOKEN, "hook")
    if hook is None:
        ctx.err(f"imagegolf: warning: no hook token (${ENV_HOOK_TOKEN}): the hook must be open")
    options = RegistryHostOptions(
        notify=args.notify,
        listen=args.listen,
        storage=Path(args.storage) if args.storage else None,
        hook_token=hook,
        tls=(Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else None,
    )
    host_registry(contest_at(args, ctx), options, printer(ctx))
    return 0
