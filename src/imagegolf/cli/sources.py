"""SOURCE arguments: a file, an OCI layout directory, or a registry reference; registry options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from imagegolf import oci, store
from imagegolf.cli.context import Context
from imagegolf.errors import UsageError
from imagegolf.platform import Wanted
from imagegolf.ref import Reference

if TYPE_CHECKING:
    from imagegolf.registry import RegistryClient

SOURCE_HELP = "a .tar (dual, docker-archive, oci-archive), an OCI layout dir, or a registry reference"


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


def registry_client(args: argparse.Namespace, ctx: Context, registry: str) -> RegistryClient:
    from imagegolf.registry import open_registry

    password = None
    if getattr(args, "password_stdin", False):
        password = ctx.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input gave no password")
        if not args.username:
            raise UsageError("--password-stdin needs --username")
    return open_registry(
        registry,
        username=getattr(args, "username", None),
        password=password,
        insecure=getattr(args, "insecure", False),
        ca_bundle=getattr(args, "ca_bundle", None),
        env=ctx.environ,
        progress=ctx.err if getattr(args, "verbose", False) else None,
    )


def is_path(source: str) -> bool:
    return Path(source).exists() or source.startswith((".", "/")) or source.endswith(".tar")


def parse_reference(text: str) -> Reference:
    try:
        return Reference.parse(text)
    except UsageError as exc:
        raise UsageError(
            f"{text!r} is neither an existing file or directory nor an image reference",
            hint="give a .tar, an OCI layout dir, or host[:port]/repo[:tag][@sha256:…]",
        ) from exc


def read_source(args: argparse.Namespace, ctx: Context, wanted: Wanted) -> oci.Image:
    """SOURCE as a verified image: from files, or pulled (tag resolved to a digest once); of an
    index, the entry for ``wanted``."""
    source: str = args.source
    if is_path(source):
        if not Path(source).exists():
            raise UsageError(f"no such file or directory: {source}")
        return store.read_source(Path(source), wanted)
    ref = parse_reference(source)
    return registry_client(args, ctx, ref.registry).pull_image(ref, wanted)
