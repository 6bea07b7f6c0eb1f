"""``imagegolf serve``: the contest's web site — leaderboard, timeline, submissions, JSON API, registry hook.

Tokens come from the environment or files, never from the command line (other users can read a
process's arguments): the admin token from $IMAGEGOLF_ADMIN_TOKEN or ``--admin-token-file``, the
registry hook's from $IMAGEGOLF_HOOK_TOKEN or ``--hook-token-file``. docs/web.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagegolf.cli import sources
from imagegolf.cli.context import Context
from imagegolf.errors import UsageError

ENV_ADMIN_TOKEN = "IMAGEGOLF_ADMIN_TOKEN"
ENV_HOOK_TOKEN = "IMAGEGOLF_HOOK_TOKEN"
SHORT_TOKEN = 16


def register(sub: Any) -> None:
    from imagegolf.cli.contest import add_database_arguments

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
    sources.add_registry_arguments(parser)  # the hook reads the manifests notifications name
    parser.set_defaults(handler=run)


def read_token(path: str | None, environ: Mapping[str, str], variable: str, what: str) -> str | None:
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"--{what}-token-file {path}: cannot read it ({error})") from None
        if not token:
            write = f"write one: openssl rand -hex 32 > {shlex.quote(path)}"
            raise UsageError(f"--{what}-token-file {path} is empty", hint=write)
        return token
    return str(environ.get(variable, "")).strip() or None


def tokens(args: argparse.Namespace, environ: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(admin token, hook token) from ``--admin-token-file``/``--hook-token-file`` when ``args`` has
    them, else the environment (``environ`` None: this process's)."""
    env = os.environ if environ is None else environ
    admin = read_token(getattr(args, "admin_token_file", None), env, ENV_ADMIN_TOKEN, "admin")
    hook = read_token(getattr(args, "hook_token_file", None), env, ENV_HOOK_TOKEN, "hook")
    return admin, hook


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = default_host, text
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{text!r}: give [HOST:]PORT with a port in 0..65535", hint="e.g. 127.0.0.1:8000")
    return host, int(port)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.cli.contest import check_hook_trust, db_url, registry_factory
    from imagegolf.contest import open_contest
    from imagegolf.db import open_database, parse_database_url
    from imagegolf.web import create_app
    from imagegolf.web.server import serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give 0..65535")
    admin, hook = tokens(args, ctx.environ)
    for name, token in (("admin", admin), ("hook", hook)):
        if token is not None and len(token) < SHORT_TOKEN:
            ctx.err(
                f"imagegolf: warning: the {name} token is short ({len(token)} characters): "
                "use `openssl rand -hex 32`"
            )
    url = db_url(args, ctx)
    parsed = parse_database_url(url)
    if parsed.dialect == "sqlite" and not Path(parsed.target).exists():
        raise UsageError(
            f"no contest database at {parsed.target}",
            hint=f"create a contest first: imagegolf contest init --db {shlex.quote(url)} "
            "--repository HOST:PORT/REPO",
        )
    if not _loopback(args.host):
        ctx.err(
            f"imagegolf: warning: listening on {args.host}: plain HTTP, so tokens cross the network "
            "in the clear; put a TLS proxy in front"
        )

    with open_database(url, retry_s=10.0) as db:
        contest = open_contest(db, args.contest)  # fail now, not on the first page view
        check_hook_trust(contest, hook)
        # The hook checks and reads the manifests notifications name, with the registry options
        # given here (or the judge's account on a registry imagegolf runs).
        registry = registry_factory(args, ctx, db)(contest)
        app = create_app(db, contest.name, admin_token=admin, hook_token=hook, registry=registry)

        def announce(base: str) -> None:
            ctx.out(f"imagegolf: serving contest {contest.name!r} on {base}/")
            ctx.out(
                f"  admin actions {'on (Bearer token)' if admin else 'off (no admin token)'}; "
                f"registry hook {base}/hooks/registry {'(Bearer token)' if hook else '(no token)'}"
            )
            ctx.out("  stop with Ctrl-C")
            ctx.stdout.flush()

        from imagegolf.cli.contest_notify import sending  # outgoing notifications, sent from here too

        # uvicorn stops, then re-raises SIGINT
        with registry, sending(db, contest), contextlib.suppress(KeyboardInterrupt):
            serve_forever(app, args.host, args.port, announce=announce)
        ctx.out("imagegolf: stopped")
    return 0
