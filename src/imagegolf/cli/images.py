"""What several commands share: building the program image, reading SOURCE, the summary."""

from __future__ import annotations

import argparse
from typing import Any

from imagegolf import elf, oci
from imagegolf.errors import UsageError
from imagegolf.platform import DEFAULT, Platform

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


def parse_platform(text: str | None) -> Platform | None:
    if text is None:
        return None
    if "," in text or text == "all":
        raise UsageError(f"--platform {text}: this command takes one platform", hint="e.g. linux/amd64")
    return Platform.parse(text)


def parse_platforms(text: str | None) -> list[Platform]:
    """``--platform`` of build: one, a comma-separated list, or ``all`` (every supported one)."""
    if text is None:
        return [DEFAULT]
    if text == "all":
        return list(elf.platforms())
    platforms = [Platform.parse(part) for part in text.split(",") if part.strip()]
    if not platforms:
        raise UsageError("--platform is empty", hint="e.g. linux/386 or all")
    return platforms


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
