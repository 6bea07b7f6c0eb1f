"""What several commands share about an image: its name, the file it runs, its listing, which
entry of an index was taken; and the program image the tests build."""

from __future__ import annotations

from typing import Any

from imagegolf import elf, oci
from imagegolf.cli.context import Context
from imagegolf.platform import Platform

DEFAULT_NAME = "localhost/imagegolf:latest"


def say_choice(image: oci.Image, ctx: Context) -> None:
    """Tell which image of an index was taken, and why (to stderr: stdout may be the output)."""
    if image.chosen:
        ctx.err(f"imagegolf: took {image.platform} from the index ({image.chosen})")


def program_image(message: bytes, platform: Platform, mode: str, profile: str) -> tuple[bytes, oci.Image]:
    """The hand-made ELF for ``message`` and its record-shaped image."""
    program = elf.build_program(message, platform, elf.Mode(mode), elf.Profile(profile))
    args = [message.decode("utf-8")] if mode == elf.Mode.ARGV else []
    return program, oci.build_record_image(program, platform, args=args)


def files_listing(image: oci.Image) -> list[dict[str, Any]]:
    """Every entry of every layer: path, size, mode (octal string), as inspect --json shows."""
    files: list[dict[str, Any]] = []
    for descriptor, layer in zip(image.manifest.layers, image.layers, strict=True):
        for entry in oci.layer_entries(layer, descriptor.media_type):
            row: dict[str, Any] = {
                "path": "/" + entry.path.lstrip("/"),
                "size": entry.size,
                "mode": f"{entry.mode & 0o7777:04o}",
                "type": entry.kind,
            }
            if entry.linkname:
                row["link"] = entry.linkname
            files.append(row)
    return files
