"""MESSAGE handling shared by commands: like ``echo``, a newline is appended unless asked not to."""

from __future__ import annotations

import argparse
import os

from imagegolf.errors import UsageError

DEFAULT_MESSAGE = "hello IDBS engineering"


def add_message_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message",
        nargs="?",
        default=DEFAULT_MESSAGE,
        metavar="MESSAGE",
        help=f"what the image prints (default: {DEFAULT_MESSAGE!r}); any bytes, a newline is appended",
    )
    parser.add_argument(
        "-n", "--no-newline", action="store_true", help="do not append a newline to MESSAGE (like echo -n)"
    )


def message_bytes(args: argparse.Namespace) -> bytes:
    """The exact bytes to print: argv bytes as the OS gave them, plus a newline like echo."""
    raw = os.fsencode(args.message)
    if not raw:
        raise UsageError("the message is empty", hint="give a MESSAGE of at least one byte")
    if not args.no_newline and not raw.endswith(b"\n"):
        raw += b"\n"
    return raw
