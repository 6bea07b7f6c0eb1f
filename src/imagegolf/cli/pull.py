"""``imagegolf pull REF``: fetch an image with every byte verified, into a tar or an OCI dir."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegolf import oci
from imagegolf.cli.context import Context
from imagegolf.cli.images import say_choice
from imagegolf.cli.options import PLATFORM_HELP, add_registry_arguments, parse_wanted, registry_access
from imagegolf.digest import Digest
from imagegolf.images import publish
from imagegolf.images.archive import write_layout, write_tar
from imagegolf.images.source import parse_reference


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "pull",
        help="pull an image from a registry into a tar or an OCI dir",
        description="Pull REF (the tag is resolved to a digest once), verify the "
        "sha256 and length of every byte, and write it unchanged.",
    )
    parser.add_argument("source", metavar="REF", help="host[:port]/repo[:tag][@sha256:…]")
    parser.add_argument(
        "--platform",
        metavar="P",
        help=f"{PLATFORM_HELP}, a list in order of preference, or all (the whole index, "
        "byte-exact); default: this host's platform, as docker pull chooses",
    )
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="FILE.tar", help="write the dual tar (docker/podman load)")
    out.add_argument("--oci-dir", metavar="DIR", help="write (or add to) an OCI image layout directory")
    add_registry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    ref = parse_reference(args.source)
    access = registry_access(args, ctx)
    extra: dict[Digest, bytes] = {}
    group: oci.ImageGroup
    if args.platform == "all":  # the whole index, byte-exact: every image and what else it lists
        try:
            pulled = publish.pull_index(ref, access)
        except publish.NotAnIndex as error:
            raise publish.NotAnIndex(error.message, hint="pull it without --platform all") from None
        group, extra = pulled.images, pulled.extra
        image = next((i for i in group if i.platform.architecture == "amd64"), group[0])
    else:
        image = publish.pull(ref, parse_wanted(args.platform), access)
        say_choice(image, ctx)
        group = image  # alone: the index it was chosen from is not written
    name = f"{ref.registry}/{ref.repository}:{ref.tag or image.manifest_digest.short}"
    if args.oci_dir:
        where = write_layout(group, Path(args.oci_dir), name, extra=extra)
    else:
        where = write_tar(group, Path(args.output), name, extra=extra)
    metrics = oci.size_metrics(image).as_dict()
    platforms = [str(i.platform) for i in oci.as_group(group)]
    summary: dict[str, object] = {
        "reference": str(ref),
        "digest": str(image.manifest_digest),
        "platform": str(image.platform),
        "index_digest": str(Digest.of(image.index)) if image.index is not None else None,
        "platforms": platforms,
        "output": str(where),
        "metrics": metrics,
    }
    if args.json:
        ctx.out(json.dumps(summary, indent=2))
        return 0
    if args.platform == "all":
        ctx.out(f"pulled   {ref}: the index {summary['index_digest']} and {len(platforms)} images")
    else:
        ctx.out(f"pulled   {ref} ({image.platform})")
    ctx.out(f"digest   {image.manifest_digest}")
    ctx.out(f"wrote    {where}  ({metrics['pull_bytes']} pull bytes verified)")
    return 0
