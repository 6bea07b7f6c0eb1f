"""``imagegolf inspect SOURCE``: the five size metrics, files and digests, from bytes alone."""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagegolf import oci
from imagegolf.cli import images, options
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.digest import Digest

METRIC_NOTES = {
    "docker_classic": "docker images SIZE (classic overlay2 store)",
    "containerd_content": "ctr images ls / Docker >= 29 CONTENT SIZE",
    "podman": "podman images SIZE",
    "registry_compressed": "Docker Hub / Quay compressed size",
    "pull_bytes": "bytes a pull downloads",
}


def register(sub: Any) -> None:
    parser = sub.add_parser("inspect", help="show an image's five size metrics, files and digests")
    options.add_source_argument(parser)
    options.add_platform_argument(parser, None)
    options.add_registry_arguments(parser)
    options.add_json_argument(parser, "print JSON (shape in docs/cli.md)")
    parser.set_defaults(handler=run)


def describe(source: str, image: oci.Image) -> dict[str, Any]:
    return {
        "source": source,
        "platform": str(image.platform),
        "manifest_digest": str(image.manifest_digest),
        "manifest_synthesized": image.manifest_synthesized,
        "index_digest": str(Digest.of(image.index)) if image.index is not None else None,
        "chosen": image.chosen,
        "metrics": oci.size_metrics(image).as_dict(),
        "files": images.files_listing(image),
        "entrypoint": list(image.config.argv),
    }


def run(args: argparse.Namespace, ctx: Context) -> int:
    image = options.read_source(args, ctx)
    info = describe(args.source, image)
    if args.json:
        ctx.out(json.dumps(info, indent=2))
        return 0
    ctx.out(f"source    {info['source']}")
    ctx.out(f"platform  {info['platform']}")
    if image.chosen:
        ctx.out(f"index     {info['index_digest']}: took {info['chosen']}")
    synthesized = "  (synthesized: the archive holds no manifest)" if image.manifest_synthesized else ""
    ctx.out(f"digest    {info['manifest_digest']}{synthesized}")
    ctx.out(f"runs      {json.dumps(info['entrypoint'])}")
    ctx.out("size metrics:")
    for name, value in info["metrics"].items():
        ctx.out(f"  {name:<20} {value:>10}  {human_size(value):>8}  {METRIC_NOTES.get(name, '')}")
    ctx.out(f"files ({len(info['files'])}):")
    for row in info["files"]:
        link = f" -> {row['link']}" if "link" in row else ""
        ctx.out(f"  {row['mode']} {row['size']:>10}  {row['path']}{link}")
    return 0
