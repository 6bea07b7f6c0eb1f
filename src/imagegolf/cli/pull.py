"""``imagegolf pull REF``: fetch an image with every byte verified, into a tar or an OCI dir."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegolf import oci, store
from imagegolf.cli import images, sources
from imagegolf.cli.context import Context


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "pull",
        help="pull an image from a registry into a tar or an OCI dir",
        description="Pull REF (the tag is resolved to a digest once), verify the "
        "sha256 and length of every byte, and write it unchanged.",
    )
    parser.add_argument("source", metavar="REF", help="host[:port]/repo[:tag][@sha256:…]")
    images.add_platform_argument(parser, None)
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="FILE.tar", help="write the dual tar (docker/podman load)")
    out.add_argument("--oci-dir", metavar="DIR", help="write (or add to) an OCI image layout directory")
    sources.add_registry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    ref = sources.parse_reference(args.source)
    image = sources.registry_client(args, ctx, ref.registry).pull_image(
        ref, images.parse_platform(args.platform)
    )
    name = f"{ref.registry}/{ref.repository}:{ref.tag or image.manifest_digest.short}"
    if args.oci_dir:
        where = store.write_oci_dir(image, Path(args.oci_dir), name)
    else:
        where = store.write_dual_tar(image, Path(args.output), name)
    metrics = oci.size_metrics(image).as_dict()
    summary = {
        "reference": str(ref),
        "digest": str(image.manifest_digest),
        "platform": str(image.platform),
        "output": str(where),
        "metrics": metrics,
    }
    if args.json:
        ctx.out(json.dumps(summary, indent=2))
        return 0
    ctx.out(f"pulled   {ref} ({image.platform})")
    ctx.out(f"digest   {image.manifest_digest}")
    ctx.out(f"wrote    {where}  ({metrics['pull_bytes']} pull bytes verified)")
    return 0
