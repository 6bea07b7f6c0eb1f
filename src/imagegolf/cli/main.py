"""``imagegolf`` entry point: ``main(argv, ctx) -> exit status``; errors are caught here only."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn, cast

from imagegolf import __version__
from imagegolf.cli.context import Context
from imagegolf.errors import EnvironmentProblem, ImagegolfError, Setting
from imagegolf.extras import Extra, extra_of, install_message, missing_modules, modules

# One module per command, imported only when needed: `build` should not pay for the docker SDK.
COMMANDS = (
    "build", "push", "pull", "inspect", "explain", "run", "judge", "submit", "ladder", "contest", "serve",
    "demo",
)  # fmt: skip

# The extras a command needs beyond the core dependencies (pyproject.toml); the rest need none.
NEEDS: dict[str, tuple[Extra, ...]] = {
    "judge": (Extra.JUDGE,),
    "ladder": (Extra.LADDER,),
    "contest": (Extra.CONTEST,),
    "serve": (Extra.CONTEST,),
    "demo": (Extra.CONTEST, Extra.LADDER),
}


# The flag that changes each setting an error names: the core names settings, never flags.
FLAGS: dict[Setting, str] = {
    Setting.CREDENTIALS: "--username NAME --password-stdin",
    Setting.INSECURE: "--insecure",
    Setting.CA_BUNDLE: "--ca-bundle FILE",
    Setting.DATABASE: "--db URL",
}


def described(error: ImagegolfError) -> str:
    """The error as the CLI prints it: the core's words, then the flags for the settings it names."""
    if not error.settings:
        return str(error)
    flags = ", ".join(FLAGS[setting] for setting in error.settings)
    advice = f"{error.hint}; " if error.hint else ""
    return f"{error.message} ({advice}flags: {flags})"


def _help_width() -> int:
    """shutil.get_terminal_size's answer (COLUMNS, else the terminal, else 80), minus 2 as argparse
    takes it, without importing shutil (with its lzma and bz2): argparse makes a formatter for
    every argument it adds, and a command should not pay for archive modules it never uses."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return (columns or 80) - 2


class _Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        # every formatter argparse ships (and the only ones imagegolf uses) is a HelpFormatter
        factory = cast("type[argparse.HelpFormatter]", self.formatter_class)
        return factory(prog=self.prog, width=_help_width())

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
        if only is not None and name != only:
            continue
        try:
            _command(name).register(sub)
        except ModuleNotFoundError as exc:
            problem = _missing_extra(name, exc)
            if only is not None or problem is None:
                raise
            sub.add_parser(name, help=str(problem))  # the full --help still lists every command
    return parser


def _missing_extra(command: str | None, exc: ModuleNotFoundError) -> EnvironmentProblem | None:
    """The extra to install when ``exc`` is a module an extra installs; None for any other module."""
    module = exc.name or ""
    extra = extra_of(module)
    if command is None or extra is None:
        return None
    needs = NEEDS.get(command, ())
    if not any(module.partition(".")[0] in modules(need) for need in needs):
        needs = (extra,)  # a module of an extra the table does not expect this command to need
    return EnvironmentProblem(install_message(command, needs, module))


def main(argv: Sequence[str] | None = None, ctx: Context | None = None) -> int:
    ctx = ctx or Context()
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        return _run(argv, only, ctx)
    except ModuleNotFoundError as exc:  # a command reached for a module of an extra not installed
        problem = _missing_extra(only, exc)
        if problem is None:
            raise
        ctx.err(f"imagegolf: error: {problem}")
        return problem.exit_code


def _run(argv: list[str], only: str | None, ctx: Context) -> int:
    missing = missing_modules(NEEDS.get(only, ())) if only else ()
    if only and missing:  # before the command's module is imported: its --help too says what to install
        problem = EnvironmentProblem(install_message(only, NEEDS[only], missing[0]))
        ctx.err(f"imagegolf: error: {problem}")
        return problem.exit_code
    parser = make_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(ctx.stderr)
        return 2
    try:
        return int(args.handler(args, ctx))
    except ImagegolfError as exc:
        ctx.err(f"imagegolf: error: {described(exc)}")
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
    status = main()
    # The command is done and every object left dies with the process: leave them out of the
    # collections Python's shutdown runs (gc.freeze), which would only walk and free them one by
    # one (a few ms of a `build`, bench/cli_speed.py). atexit handlers and weakref finalizers
    # still run, and what reference counting frees is still freed.
    gc.freeze()
    sys.exit(status)
