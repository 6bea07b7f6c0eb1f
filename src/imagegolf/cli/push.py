"""``imagegolf push SOURCE REF``: publish an image with its exact bytes (digest unchanged)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.cli.options import add_platform_argument, add_registry_arguments, parse_wanted, registry_access
from imagegolf.errors import UsageError
from imagegolf.images import publish
from imagegolf.images.access import RegistryAccess
from imagegolf.images.source import SOURCE_HELP, parse_reference, resolve
from imagegolf.oci.multi import ImageGroup


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "push",
        help="push an image to a registry, byte for byte",
        description="Push SOURCE to REF without changing a byte: blobs first "
        "(existing ones are skipped), then the manifest; prints the digest.",
    )
    parser.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    parser.add_argument("ref", metavar="REF", help="host[:port]/repo[:tag]")
    add_platform_argument(parser, None)
    add_registry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def push(
    args: argparse.Namespace,
    ctx: Context,
    image: ImageGroup,
    ref_text: str,
    access: RegistryAccess | None = None,
) -> dict[str, Any]:
    """Push ``image`` (or images sharing an index) to ``ref_text``; return the summary printed.
    ``access``: the registry options already read (``--password-stdin`` reads stdin once)."""
    ref = parse_reference(ref_text)
    if ref.digest is not None:
        raise UsageError(f"push to {ref_text}: give a tag, not a digest", hint="the digest is computed")
    pushed = publish.push(image, ref, access or registry_access(args, ctx))
    result = pushed.result
    return {
        "reference": pushed.reference,
        "digest": str(result.digest),
        "pinned": pushed.pinned,
        "pull_bytes": result.pull_bytes,
        "bytes_sent": result.bytes_sent,
        "blobs_uploaded": result.blobs_uploaded,
        "blobs_skipped": result.blobs_skipped,
        "run": run_commands(args, pushed),
    }


def run_commands(args: argparse.Namespace, pushed: publish.Pushed) -> list[str]:
    """Command lines that run the image just pushed, each working as printed: ``imagegolf run``
    with the access flags this push needed, and ``podman run`` (``--tls-verify=false`` for a
    plain-HTTP or --insecure registry, after a ``podman login`` when podman cannot find the
    credentials by itself; none when a private CA was needed, which podman takes from certs.d)."""
    quote = shlex.quote
    pinned = pushed.pinned
    access = ["--insecure"] if getattr(args, "insecure", False) else []
    ca_bundle = getattr(args, "ca_bundle", None)
    if ca_bundle:
        access += ["--ca-bundle", quote(ca_bundle)]
    if pushed.credentials == publish.GIVEN:
        access += ["--username", quote(pushed.username or ""), "--password-stdin"]
    commands = [" ".join(["imagegolf", "run", quote(pinned), *access])]
    if ca_bundle:
        return commands
    tls = [] if pushed.tls_verified else ["--tls-verify=false"]
    podman = " ".join(["podman", "run", "--rm", *tls, quote(pinned)])
    if pushed.credentials in (publish.GIVEN, publish.ENVIRONMENT, publish.DOCKER_STORE):
        user = ["--username", quote(pushed.username)] if pushed.username else []
        podman = " ".join(["podman", "login", *tls, *user, quote(pushed.ref.registry)]) + " && " + podman
    return [*commands, podman]


def print_run_commands(ctx: Context, commands: list[str]) -> None:
    """``run it:  COMMAND`` then ``    or:  COMMAND``: one complete command line each."""
    for position, command in enumerate(commands):
        ctx.out(f"{'run it:' if position == 0 else '    or:'}  {command}")


def print_push(ctx: Context, summary: dict[str, Any]) -> None:
    ctx.out(f"pushed   {summary['reference']}")
    ctx.out(f"digest   {summary['digest']}")
    ctx.out(
        f"pull     {summary['pull_bytes']} bytes ({human_size(summary['pull_bytes'])}); sent "
        f"{summary['bytes_sent']} bytes, {summary['blobs_uploaded']} blobs uploaded, "
        f"{summary['blobs_skipped']} already there"
    )
    ctx.out(f"pinned   {summary['pinned']}")
    print_run_commands(ctx, summary["run"])


def run(args: argparse.Namespace, ctx: Context) -> int:
    access = registry_access(args, ctx)
    image = resolve(args.source, parse_wanted(args.platform), access)
    summary = push(args, ctx, image, args.ref, access)
    if args.json:
        ctx.out(json.dumps(summary, indent=2))
    else:
        print_push(ctx, summary)
    return 0
