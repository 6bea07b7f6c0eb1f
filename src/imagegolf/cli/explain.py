"""``imagegolf explain SOURCE``: the entry file's bytes, field by field, with its disassembly."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from imagegolf import elf, oci
from imagegolf.cli import images, options
from imagegolf.cli.context import Context
from imagegolf.errors import BadInputError


def register(sub: Any) -> None:
    parser = sub.add_parser("explain", help="annotated hexdump and disassembly of the image's entry file")
    options.add_source_argument(parser)
    options.add_platform_argument(parser, None)
    options.add_registry_arguments(parser)
    parser.add_argument("--message", help="the message bytes to mark in the dump")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Start-up speed: the disassembler (capstone, ~70 ms) is loaded only to disassemble, not for
    # `explain --help` or the full parser of `imagegolf --help`.
    from imagegolf.elf.annotate import annotate

    image = options.read_source(args, ctx)
    images.say_choice(image, ctx)
    found = oci.entry_file(image)
    if found is None:
        raise BadInputError(
            f"{args.source}: the image's command {list(image.config.argv)} names no file in its layers",
            hint="explain shows the file an image runs; this image runs none of its own",
        )
    path, data = found
    argv = image.config.argv
    if not data.startswith(b"\x7fELF"):
        raise BadInputError(f"/{path.lstrip('/')} is not an ELF file ({len(data)} bytes)")
    ctx.out(f"/{path.lstrip('/')}: {len(data)} bytes, run as {list(argv)}")
    message = args.message.encode() if args.message else None
    if message is None and len(argv) > 1:  # an argv-mode image: the message is in CMD, not the file
        ctx.out(f"the message is argv[1] from the image's command: {argv[1]!r}")
    identified = elf.identify(data, image.platform.architecture)
    for line in layout_lines(identified, argv, message):
        ctx.out(line)
    if message is None and identified is not None and identified.message and identified.message in data:
        message = identified.message  # an embed layout's message, when it lies in one piece
    ctx.out(annotate(data, message=message))
    return 0


def layout_lines(found: elf.Identified | None, argv: Sequence[str], message: bytes | None) -> list[str]:
    """Which of imagegolf's layouts the file is, and what it relies on (elf/reliance.py)."""
    if found is None:
        return ["layout   not one of imagegolf's layouts: its reliances are not known"]
    layout = found.layout
    profiles = [p.value for p in elf.catalog.profiles_of(layout.name)]
    word = "profiles" if len(profiles) > 1 else "profile"
    lines = [f"layout   {layout.name} ({word} {', '.join(profiles)}): {layout.summary}"]
    if layout.relies_on:
        lines.append("relies on")
        lines += [f"  - {reliance.describe()}" for reliance in layout.relies_on]
    else:
        lines.append("relies on nothing beyond the loaders of docs/elf.md")
    carried = message or found.message or (argv[1].encode() if len(argv) > 1 else None)
    if carried is not None and any(r.about_message for r in layout.relies_on):
        broken = layout.broken_by(carried)
        verdict = "breaks: " + "; ".join(r.describe() for r in broken) if broken else "keeps them"
        lines.append(f"the {len(carried)}-byte message {verdict}")
    return lines
