"""Options shared by several commands, declared once (same flags, same help, same defaults): SOURCE,
registry access (and what it becomes), the platform, MESSAGE, --json."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from imagegolf.cli.context import Context
from imagegolf.errors import UsageError
from imagegolf.images.host import host_wanted
from imagegolf.platform import Platform, Wanted

if TYPE_CHECKING:
    from imagegolf.images.access import RegistryAccess
    from imagegolf.oci.image import Image

# Start-up speed (bench/cli_speed.py): the SOURCE resolver and the registry access it builds on
# (image references, the registry client's settings) are imported by the functions that use them,
# so that `build`, which reads no SOURCE, does not load them.

DEFAULT_MESSAGE = "hello IDBS engineering"
PLATFORM_HELP = (
    "linux/386, linux/amd64, linux/arm64, linux/arm/v5|v6|v7, linux/riscv64, linux/ppc64le, "
    "linux/s390x, linux/mips64le"
)


# SOURCE


def add_source_argument(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """SOURCE (or SOURCE…): what :func:`imagegolf.images.source.resolve` reads."""
    from imagegolf.images.source import SOURCE_HELP

    if several:
        parser.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCE_HELP)
    else:
        parser.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)


def read_source(args: argparse.Namespace, ctx: Context) -> Image:
    """SOURCE, ``--platform`` and the registry options as the image they name (images.source)."""
    from imagegolf.images.source import resolve

    return resolve(args.source, parse_wanted(args.platform), registry_access(args, ctx))


# Registry access


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registry access")
    group.add_argument(
        "--username",
        help="registry user, with --password-stdin (else IMAGEGOLF_REGISTRY_USERNAME/PASSWORD, then "
        "podman's auth.json, then ~/.docker/config.json and its credential helpers)",
    )
    group.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (one line) from standard input; needs --username",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP and unverified TLS (loopback registries need no flag)",
    )
    group.add_argument("--ca-bundle", metavar="FILE", help="trust the CAs in this PEM file for TLS")


def registry_access(args: argparse.Namespace, ctx: Context) -> RegistryAccess:
    """The registry options of ``args`` as a :class:`RegistryAccess` (reads stdin for
    ``--password-stdin``)."""
    from imagegolf.images.access import RegistryAccess

    password = None
    if getattr(args, "password_stdin", False):
        password = ctx.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input gave no password")
        if not args.username:
            raise UsageError("--password-stdin needs --username")
    return RegistryAccess(
        username=getattr(args, "username", None),
        password=password,
        insecure=getattr(args, "insecure", False),
        ca_bundle=getattr(args, "ca_bundle", None),
        environ=ctx.environ,
        progress=ctx.err if getattr(args, "verbose", False) else None,
    )


# The platform


def add_platform_argument(
    parser: argparse.ArgumentParser, default: str | None, *, several: bool = False
) -> None:
    help_text = PLATFORM_HELP + (", a comma-separated list, or all (one OCI index)" if several else "")
    parser.add_argument(
        "--platform",
        default=default,
        metavar="P",
        help=help_text + (f" (default: {default})" if default else ""),
    )


def parse_wanted(text: str | None) -> Wanted:
    """``--platform`` of a command that reads one image: one platform or a list in order of
    preference; without it, this host's platforms, as ``docker pull`` would choose from an index."""
    if text is None:
        return host_wanted()
    if text == "all":
        raise UsageError("--platform all: this command reads one image", hint="e.g. linux/amd64")
    return Wanted.named(Platform.parse_list(text))


# MESSAGE: like ``echo``, a newline is appended unless asked not to


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


# Output


def add_json_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--json", action="store_true", help=help_text)
