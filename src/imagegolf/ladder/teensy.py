"""The last rungs: imagegolf's own hand-made ELF (elf.build_program), in the record image shape."""

from __future__ import annotations

from imagegolf import __version__, elf, oci
from imagegolf.ladder.strategy import RungImage
from imagegolf.ladder.tools import Workbench
from imagegolf.platform import Platform


def _teensy(
    message: bytes, platform: Platform, bench: Workbench, mode: elf.Mode, profile: elf.Profile
) -> RungImage:
    program = elf.build_program(message, platform, mode, profile)
    args = [message.decode("utf-8")] if mode is elf.Mode.ARGV else []
    image = oci.build_record_image(program, platform, args=args)
    bench.log.append(
        f"# elf.build_program(message, {platform}, {mode.value}, {profile.value}): {len(program)} bytes"
    )
    where = "the message in CMD (argv[1])" if mode is elf.Mode.ARGV else "the message inside"
    technique = f"hand-made ELF, {profile.value} layout, {where}; one file /a"
    return RungImage(image, technique, bench.log, f"imagegolf {__version__} (no toolchain)")


def teensy(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    return _teensy(message, platform, bench, elf.Mode.EMBED, elf.Profile.PORTABLE)


def teensy_modern(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    return _teensy(message, platform, bench, elf.Mode.EMBED, elf.Profile.MODERN)


def teensy_argv(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    return _teensy(message, platform, bench, elf.Mode.ARGV, elf.Profile.PORTABLE)
