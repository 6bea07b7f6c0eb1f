"""What several commands share: building the program image, reading SOURCE, the summary."""

from __future__ import annotations

import argparse
from typing import Any

from imagegolf import elf, oci
from imagegolf.cli.context import Context
from imagegolf.errors import UsageError
from imagegolf.platform import DEFAULT, Platform, Wanted

DEFAULT_NAME = "localhost/imagegolf:latest"


PLATFORM_HELP = (
    "linux/386, linux/amd64, linux/arm64, linux/arm/v5|v6|v7, linux/riscv64, linux/ppc64le, "
    "linux/s390x, linux/mips64le"
)


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
        from imagegolf.judge.host import current_host  # judge/ pulls in the docker SDK: only here

        return Wanted(current_host().platforms)
    if text == "all":
        raise UsageError("--platform all: this command reads one image", hint="e.g. linux/amd64")
    return Wanted.named(Platform.parse_list(text))


def say_choice(image: oci.Image, ctx: Context) -> None:
    """Tell which image of an index was taken, and why (to stderr: stdout may be the output)."""
    if image.chosen:
        ctx.err(f"imagegolf: took {image.platform} from the index ({image.chosen})")


def parse_platforms(text: str | None) -> list[Platform]:
    """``--platform`` of build: one, a comma-separated list, or ``all`` (every supported one)."""
    if text is None:
        return [DEFAULT]
    if text == "all":
        return list(elf.platforms())
    return list(Platform.parse_list(text))


def program_image(message: bytes, platform: Platform, mode: str, profile: str) -> tuple[bytes, oci.Image]:
    """The hand-made ELF for ``message`` and its record-shaped image."""
    program = elf.build_program(message, platform, elf.Mode(mode), elf.Profile(profile))
    args = [message.decode("utf-8")] if mode == elf.Mode.ARGV else []
    return program, oci.build_record_image(program, platform, args=args)


entry_file = oci.entry_file  # the file an image runs (oci/entry.py)


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
