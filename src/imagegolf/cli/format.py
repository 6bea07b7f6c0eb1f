"""Terminal output shared by commands: human sizes (imagegolf.units, shared with the web pages),
and the command lines that run an image just written or pushed."""

from __future__ import annotations

from imagegolf.cli.context import Context
from imagegolf.units import human_size

__all__ = ["human_size", "print_run_commands"]


def print_run_commands(ctx: Context, commands: list[str]) -> None:
    """``run it:  COMMAND`` then ``    or:  COMMAND``: one complete command line each."""
    for position, command in enumerate(commands):
        ctx.out(f"{'run it:' if position == 0 else '    or:'}  {command}")
