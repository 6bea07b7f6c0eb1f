"""What every ``imagegolf contest …`` sub-command and ``imagegolf serve`` share: ``--db URL`` and
``--contest NAME`` (and what they become, a :class:`ContestAt`), the sub-parser maker, the
tokens (from files or the environment, never the command line: other users can read a
process's arguments), and output lines safe to write from any thread."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imagegolf.cli.context import Context
from imagegolf.contest.errors import NoContest, SeveralContests
from imagegolf.contest.service import ContestAt
from imagegolf.errors import UsageError

DEFAULT_DB = "contest.db"
ENV_DB = "IMAGEGOLF_DB"
ENV_ADMIN_TOKEN = "IMAGEGOLF_ADMIN_TOKEN"
ENV_HOOK_TOKEN = "IMAGEGOLF_HOOK_TOKEN"
Sub = Callable[[Any, str, str], argparse.ArgumentParser]


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db URL`` and ``--contest NAME``: every contest sub-command and ``serve`` take them."""
    parser.add_argument(
        "--db", metavar="URL", help=f"SQLite file or postgresql://… (${ENV_DB}, else {DEFAULT_DB})"
    )
    parser.add_argument(
        "--contest", metavar="NAME", help="which contest (needed if the database holds several)"
    )


def subcommand(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A ``contest`` sub-command (or an action of one) taking ``--db`` and ``--contest``."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    add_database_arguments(parser)
    return parser


def usage(parser: argparse.ArgumentParser, ctx: Context) -> int:
    parser.print_help(ctx.stderr)
    return 2


def db_url(args: argparse.Namespace, ctx: Context) -> str:
    return str(args.db or ctx.environ.get(ENV_DB) or DEFAULT_DB)


def contest_at(args: argparse.Namespace, ctx: Context) -> ContestAt:
    """The contest ``--db`` and ``--contest`` name."""
    return ContestAt(db_url(args, ctx), args.contest)


def printer(ctx: Context) -> Callable[[str], None]:
    """Whole lines to stdout, flushed, from any thread (workers report as they finish)."""
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            ctx.out(text)
            ctx.stdout.flush()

    return say


def log_to_stderr(ctx: Context) -> None:
    """Warnings of the long-running services (a failing poll, a crashed worker) to stderr."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=ctx.stderr, level=logging.WARNING, format="imagegolf: %(message)s")


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


Handler = Callable[[argparse.Namespace, Context], int]


def _hinted(handler: Handler) -> Handler:
    def run(args: argparse.Namespace, ctx: Context) -> int:
        try:
            return handler(args, ctx)
        except NoContest as error:
            raise NoContest(
                error.message, hint="create one: imagegolf contest init --repository REGISTRY/REPO"
            ) from None
        except SeveralContests as error:
            raise SeveralContests(error.message, hint="choose one with --contest NAME") from None

    return run


def with_flag_hints(parser: argparse.ArgumentParser) -> None:
    """Every handler under ``parser``: a contest not found (the service names no flags) gets the
    command or the flag that fixes it."""
    handler = parser.get_default("handler")
    if handler is not None:
        parser.set_defaults(handler=_hinted(handler))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                with_flag_hints(child)
