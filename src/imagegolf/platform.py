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
    variants: tuple[str, ...] = ()  # every variant an index may name (default_variant among them)
    big_endian: bool = False  # EI_DATA of its executables: ELFDATA2MSB when True


ARCHES: dict[str, Arch] = {
    "386": Arch("386", None, 3, 1, "i386", "i686"),
    "amd64": Arch("amd64", None, 62, 2, "x86_64", "x86_64"),
    "arm64": Arch("arm64", "v8", 183, 2, "aarch64", "aarch64", ("v8",)),
    "arm": Arch("arm", "v7", 40, 1, "arm", "armv7l", ("v5", "v6", "v7")),
    "riscv64": Arch("riscv64", None, 243, 2, "riscv64", "riscv64"),
    "ppc64le": Arch("ppc64le", None, 21, 2, "ppc64le", "ppc64le"),
    "s390x": Arch("s390x", None, 22, 2, "s390x", "s390x", big_endian=True),
    "mips64le": Arch("mips64le", None, 8, 2, "mips64el", "mips64"),
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
            known = ", ".join(str(p) for p in ALL_PLATFORMS)
            raise UsageError(f"unknown platform {text!r}", hint=f"use one of: {known}")
        arch = ARCHES[parts[1]]
        variant = parts[2] if len(parts) == 3 else arch.default_variant
        if variant != arch.default_variant and variant not in arch.variants:
            known = ", ".join(f"linux/{parts[1]}/{v}" for v in arch.variants) or f"linux/{parts[1]}"
            raise UsageError(f"unknown variant {variant!r} for {parts[1]}", hint=f"use {known}")
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
LINUX_ARM_V5 = Platform("linux", "arm", "v5")
LINUX_ARM_V6 = Platform("linux", "arm", "v6")
LINUX_ARM_V7 = Platform("linux", "arm", "v7")
LINUX_RISCV64 = Platform("linux", "riscv64")
LINUX_PPC64LE = Platform("linux", "ppc64le")
LINUX_S390X = Platform("linux", "s390x")
LINUX_MIPS64LE = Platform("linux", "mips64le")
# The platforms of docker-library/hello-world, in its index order (facts.md §1), with 386.
ALL_PLATFORMS: tuple[Platform, ...] = (
    LINUX_AMD64, LINUX_ARM_V5, LINUX_ARM_V6, LINUX_ARM_V7, LINUX_ARM64, LINUX_386,
    LINUX_MIPS64LE, LINUX_PPC64LE, LINUX_RISCV64, LINUX_S390X,
)  # fmt: skip
# What imagegolf builds programs for today.
SUPPORTED: tuple[Platform, ...] = (LINUX_386, LINUX_AMD64, LINUX_ARM64)
DEFAULT = LINUX_386
