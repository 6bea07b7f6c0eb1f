"""``imagegolf serve``: the contest's web site — leaderboard, timeline, submissions, JSON API, registry hook.

Tokens come from the environment or files, never from the command line (other users can read a
process's arguments): the admin token from $IMAGEGOLF_ADMIN_TOKEN or ``--admin-token-file``, the
registry hook's from $IMAGEGOLF_HOOK_TOKEN or ``--hook-token-file``. docs/web.md.

The contest service opens the contest and its registry client (imagegolf.contest.service.hosting)
and imagegolf.web.serving serves it; this module reads the flags and the tokens and prints.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
from typing import Any

from imagegolf.cli.contest_args import (
    ENV_ADMIN_TOKEN,
    ENV_HOOK_TOKEN,
    add_database_arguments,
    contest_at,
    tokens,
    with_flag_hints,
)
from imagegolf.cli.context import Context
from imagegolf.cli.options import add_registry_arguments, registry_access
from imagegolf.contest.service import Hosted, WebOptions, database_missing, short_tokens
from imagegolf.errors import UsageError
from imagegolf.web.serving import serve


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve the contest's web site: live leaderboard, timeline, submissions, JSON API (docs/web.md)",
        description="Serve the contest's pages and JSON API, and the registry's push-notification hook "
        "(POST /hooks/registry). Admin actions are on only with an admin token. Stop with Ctrl-C.",
    )
    add_database_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free port)"
    )
    parser.add_argument(
        "--admin-token-file",
        metavar="FILE",
        help=f"the admin token's file (else ${ENV_ADMIN_TOKEN}; none: admin off)",
    )
    parser.add_argument(
        "--hook-token-file",
        metavar="FILE",
        help=f"the hook token's file (else ${ENV_HOOK_TOKEN}; none: hook open)",
    )
    add_registry_arguments(parser)  # the hook reads the manifests notifications name
    parser.set_defaults(handler=run)
    with_flag_hints(parser)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(args: argparse.Namespace, ctx: Context) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give 0..65535")
    admin, hook = tokens(args, ctx.environ)
    web = WebOptions(host=args.host, port=args.port, admin_token=admin, hook_token=hook)
    for name, length in short_tokens(web):
        ctx.err(
            f"imagegolf: warning: the {name} token is short ({length} characters): use `openssl rand -hex 32`"
        )
    where = contest_at(args, ctx)
    missing = database_missing(where.db_url)
    if missing is not None:
        raise UsageError(
            f"no contest database at {missing}",
            hint=f"create a contest first: imagegolf contest init --db {shlex.quote(where.db_url)} "
            "--repository HOST:PORT/REPO",
        )
    if not _loopback(args.host):
        ctx.err(
            f"imagegolf: warning: listening on {args.host}: plain HTTP, so tokens cross the network "
            "in the clear; put a TLS proxy in front"
        )

    def announce(site: Hosted, base: str) -> None:
        ctx.out(f"imagegolf: serving contest {site.contest.name!r} on {base}/")
        ctx.out(
            f"  admin actions {'on (Bearer token)' if admin else 'off (no admin token)'}; "
            f"registry hook {base}/hooks/registry {'(Bearer token)' if hook else '(no token)'}"
        )
        ctx.out("  stop with Ctrl-C")
        ctx.stdout.flush()

    serve(where, registry_access(args, ctx), web, announce=announce)
    ctx.out("imagegolf: stopped")
    return 0
