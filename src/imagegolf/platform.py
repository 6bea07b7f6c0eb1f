"""Platforms as values (``linux/386``, ``linux/arm64/v8``) and the table of what each means."""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.errors import UsageError


@dataclass(frozen=True)
class Arch:
    """What imagegolf knows about one OCI architecture."""

    oci: str  # GOARCH spelling used in image configs and indexes
    default_variant: str | None
    elf_machine: int  # e_machine of its executables
    elf_class: int  # 1 = ELF32, 2 = ELF64
    qemu: str  # qemu-user binary suffix: qemu-<this>-static
    uname: str  # what `uname -m` prints on such a host


ARCHES: dict[str, Arch] = {
    "386": Arch("386", None, 3, 1, "i386", "i686"),
    "amd64": Arch("amd64", None, 62, 2, "x86_64", "x86_64"),
    "arm64": Arch("arm64", "v8", 183, 2, "aarch64", "aarch64"),
}

UNAME_TO_OCI = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "i386": "386"}


@dataclass(frozen=True)
class Platform:
    """An OCI platform: os, architecture and optional variant."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]``; an unknown one is a usage error listing the known ones."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or parts[0] != "linux" or parts[1] not in ARCHES:
            known = ", ".join(str(p) for p in SUPPORTED)
            raise UsageError(f"unknown platform {text!r}", hint=f"use one of: {known}")
        arch = ARCHES[parts[1]]
        variant = parts[2] if len(parts) == 3 else arch.default_variant
        if variant != arch.default_variant:
            raise UsageError(
                f"unknown variant {variant!r} for {parts[1]}",
                hint=f"use linux/{parts[1]}" + (f"/{arch.default_variant}" if arch.default_variant else ""),
            )
        return cls("linux", parts[1], variant)

    @property
    def arch(self) -> Arch:
        return ARCHES[self.architecture]

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


LINUX_386 = Platform("linux", "386")
LINUX_AMD64 = Platform("linux", "amd64")
LINUX_ARM64 = Platform("linux", "arm64", "v8")
SUPPORTED: tuple[Platform, ...] = (LINUX_386, LINUX_AMD64, LINUX_ARM64)
DEFAULT = LINUX_386
