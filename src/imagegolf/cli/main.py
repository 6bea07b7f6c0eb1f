"""``imagegolf`` entry point: ``main(argv, ctx) -> exit status``; errors are caught here only."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from imagegolf import __version__
from imagegolf.cli.context import Context
from imagegolf.errors import ImagegolfError

# One module per command, imported only when needed: `build` should not pay for the docker SDK.
COMMANDS = (
    "build", "push", "pull", "inspect", "explain", "run", "judge", "submit", "ladder", "contest", "serve",
    "demo",
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"imagegolf: error: {message}\n")


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"imagegolf.cli.{name}")


def make_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``) just the one sub-command being run: faster start-up."""
    parser = _Parser(
        prog="imagegolf",
        description="Build, inspect and run the smallest container images that print a phrase.",
    )
    parser.add_argument("--version", action="version", version=f"imagegolf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if only is None or name == only:
            _command(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None, ctx: Context | None = None) -> int:
    ctx = ctx or Context()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(argv[0] if argv and argv[0] in COMMANDS else None)
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


def _terminated(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: the demo's registry, a podman service…


def entry() -> NoReturn:
    signal.signal(signal.SIGTERM, _terminated)
    sys.exit(main())
