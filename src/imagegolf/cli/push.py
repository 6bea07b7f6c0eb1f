"""``imagegolf push SOURCE REF``: publish an image with its exact bytes (digest unchanged)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagegolf import oci
from imagegolf.cli import images, sources
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.errors import UsageError


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
    return {
        "reference": f"{ref.registry}/{ref.repository}:{ref.tag}",
        "digest": str(result.digest),
        "pinned": f"{ref.registry}/{ref.repository}@{result.digest}",
        "pull_bytes": result.pull_bytes,
        "bytes_sent": result.bytes_sent,
        "blobs_uploaded": result.blobs_uploaded,
        "blobs_skipped": result.blobs_skipped,
    }


def print_push(ctx: Context, summary: dict[str, Any]) -> None:
    ctx.out(f"pushed   {summary['reference']}")
    ctx.out(f"digest   {summary['digest']}")
    ctx.out(
        f"pull     {summary['pull_bytes']} bytes ({human_size(summary['pull_bytes'])}); sent "
        f"{summary['bytes_sent']} bytes, {summary['blobs_uploaded']} blobs uploaded, "
        f"{summary['blobs_skipped']} already there"
    )
    ctx.out(f"pinned   {summary['pinned']}")


def run(args: argparse.Namespace, ctx: Context) -> int:
    image = sources.read_source(args, ctx, images.parse_platform(args.platform))
    summary = push(args, ctx, image, args.ref)
    if args.json:
        ctx.out(json.dumps(summary, indent=2))
    else:
        print_push(ctx, summary)
    return 0
