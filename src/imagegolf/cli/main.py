"""``imagegolf`` entry point: ``main(argv, ctx) -> exit status``; errors are caught here only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from imagegolf import __version__
from imagegolf.cli import build, demo, explain, inspect, run
from imagegolf.cli.context import Context
from imagegolf.errors import ImagegolfError

COMMANDS = (build, inspect, explain, run, demo)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"imagegolf: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imagegolf",
        description="Build, inspect and run the smallest container images that print a phrase.",
    )
    parser.add_argument("--version", action="version", version=f"imagegolf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, ctx: Context | None = None) -> int:
    ctx = ctx or Context()
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(ctx.stderr)
        return 2
    try:
        return int(args.handler(args, ctx))
    except ImagegolfError as exc:
        ctx.err(f"imagegolf: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.err("imagegolf: interrupted")
        return 130
    except BrokenPipeError:
        return 1


def entry() -> NoReturn:
    sys.exit(main())
