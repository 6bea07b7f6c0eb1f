"""``imagegolf push SOURCE REF``: publish an image with its exact bytes (digest unchanged)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING, Any

from imagegolf import oci
from imagegolf.cli import images, sources
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.errors import UsageError
from imagegolf.ref import Reference

if TYPE_CHECKING:
    from imagegolf.registry import RegistryClient


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "push",
        help="push an image to a registry, byte for byte",
        description="Push SOURCE to REF without changing a byte: blobs first "
        "(existing ones are skipped), then the manifest; prints the digest.",
    )
    parser.add_argument("source", metavar="SOURCE", help=sources.SOURCE_HELP)
    parser.add_argument("ref", metavar="REF", help="host[:port]/repo[:tag]")
    images.add_platform_argument(parser, None)
    sources.add_registry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def push(args: argparse.Namespace, ctx: Context, image: oci.ImageGroup, ref_text: str) -> dict[str, Any]:
    """Push ``image`` (or images sharing an index) to ``ref_text``; return the summary printed."""
    ref = sources.parse_reference(ref_text)
    if ref.digest is not None:
        raise UsageError(f"push to {ref_text}: give a tag, not a digest", hint="the digest is computed")
    client = sources.registry_client(args, ctx, ref.registry)
    if isinstance(image, oci.Image):
        result = client.push_image(ref.repository, image, ref.tag)
    else:
        result = client.push_images(ref.repository, list(image), ref.tag)
    pinned = f"{ref.registry}/{ref.repository}@{result.digest}"
    return {
        "reference": f"{ref.registry}/{ref.repository}:{ref.tag}",
        "digest": str(result.digest),
        "pinned": pinned,
        "pull_bytes": result.pull_bytes,
        "bytes_sent": result.bytes_sent,
        "blobs_uploaded": result.blobs_uploaded,
        "blobs_skipped": result.blobs_skipped,
        "run": run_commands(args, client, ref, pinned),
    }


def run_commands(args: argparse.Namespace, client: RegistryClient, ref: Reference, pinned: str) -> list[str]:
    """Command lines that run the image just pushed, each working as printed: ``imagegolf run``
    with the access flags this push needed, and ``podman run`` (``--tls-verify=false`` for a
    plain-HTTP or --insecure registry, after a ``podman login`` when podman cannot find the
    credentials by itself; none when a private CA was needed, which podman takes from certs.d)."""
    from imagegolf.registry.credentials import DOCKER_STORE, ENVIRONMENT, GIVEN
    from imagegolf.registry.protocol import pull_scope

    quote = shlex.quote
    credentials = client.auth.credentials_for(pull_scope(ref.repository))
    asked = client.auth.challenge is not None and credentials.present  # the registry wanted them
    access = ["--insecure"] if getattr(args, "insecure", False) else []
    ca_bundle = getattr(args, "ca_bundle", None)
    if ca_bundle:
        access += ["--ca-bundle", quote(ca_bundle)]
    if asked and credentials.kind == GIVEN:
        access += ["--username", quote(credentials.username or ""), "--password-stdin"]
    commands = [" ".join(["imagegolf", "run", quote(pinned), *access])]
    if ca_bundle:
        return commands
    transport = client.transport
    tls = (
        ["--tls-verify=false"]
        if transport.base_url.startswith("http://") or transport.verify is False
        else []
    )
    podman = " ".join(["podman", "run", "--rm", *tls, quote(pinned)])
    if asked and credentials.kind in (GIVEN, ENVIRONMENT, DOCKER_STORE):
        user = ["--username", quote(credentials.username)] if credentials.username else []
        podman = " ".join(["podman", "login", *tls, *user, quote(ref.registry)]) + " && " + podman
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
    image = sources.read_source(args, ctx, images.parse_wanted(args.platform))
    summary = push(args, ctx, image, args.ref)
    if args.json:
        ctx.out(json.dumps(summary, indent=2))
    else:
        print_push(ctx, summary)
    return 0
