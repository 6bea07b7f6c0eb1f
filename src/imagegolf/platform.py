"""Platforms as values (``linux/386``, ``linux/arm64/v8``) and the table of what each means."""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.errors import UsageError


@dataclass(frozen=True)
class Arch:
    """What imagegolf knows about one OCI architecture."""

    oci: str  # GOARCH spelling used in image configs and indexes
    default_variant: str | None
    # The ELF identity of its executables, read by the judge's platform check. The numbers are
    # elf/spec.py's (Machine, ElfClass, ElfData), which this bottom-layer module cannot import;
    # tests/elf/test_spec.py checks that the two agree.
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
# Architecture spellings as containerd's platforms.Normalize reads them (Docker, podman and the
# registries' clients all go through it): name -> (architecture, variant it implies).
ARCH_ALIASES: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None), "x86-64": ("amd64", None), "x64": ("amd64", None),
    "aarch64": ("arm64", None), "armv8": ("arm64", None),
    "i386": ("386", None), "i486": ("386", None), "i586": ("386", None), "i686": ("386", None),
    "x86": ("386", None),
    "armhf": ("arm", "v7"), "armv7": ("arm", "v7"), "armv7l": ("arm", "v7"),
    "armel": ("arm", "v6"), "armv6": ("arm", "v6"), "armv6l": ("arm", "v6"), "armv5": ("arm", "v5"),
    "mips64el": ("mips64le", None), "ppc64el": ("ppc64le", None),
}  # fmt: skip


@dataclass(frozen=True)
class Platform:
    """An OCI platform: os, architecture and optional variant."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``[os/]arch[/variant]`` as Docker normalises it (``amd64``, ``x86_64``,
        ``linux/aarch64``, ``arm64/v8``, ``i386``, ``armhf``, ``arm/7``…); an unknown one is a
        usage error listing the known ones."""
        parts = text.strip().lower().split("/")
        if parts and parts[0] != "linux" and len(parts) <= 2:
            parts = ["linux", *parts]  # the os is optional, as in `docker pull --platform arm64`
        known = ", ".join(str(p) for p in ALL_PLATFORMS)
        if len(parts) not in (2, 3) or parts[0] != "linux":
            raise UsageError(f"unknown platform {text!r}", hint=f"use one of: {known}")
        name, variant = ARCH_ALIASES.get(parts[1], (parts[1], None))
        if name not in ARCHES:
            raise UsageError(f"unknown platform {text!r}", hint=f"use one of: {known}")
        arch = ARCHES[name]
        if len(parts) == 3:
            variant = parts[2] if parts[2].startswith("v") else f"v{parts[2]}"
        if name == "amd64" and variant == "v1":
            variant = None  # containerd: amd64/v1 is plain amd64
        variant = variant or arch.default_variant
        if variant != arch.default_variant and variant not in arch.variants:
            choices = ", ".join(f"linux/{name}/{v}" for v in arch.variants) or f"linux/{name}"
            raise UsageError(f"unknown variant {variant!r} for {name}", hint=f"use {choices}")
        return cls("linux", name, variant)

    @classmethod
    def parse_list(cls, text: str) -> tuple[Platform, ...]:
        """A comma-separated list of platforms, in order of preference, without repeats."""
        platforms = tuple(dict.fromkeys(cls.parse(part) for part in text.split(",") if part.strip()))
        if not platforms:
            raise UsageError("no platform given", hint="e.g. linux/amd64 or linux/amd64,linux/386")
        return platforms

    @property
    def arch(self) -> Arch:
        return ARCHES[self.architecture]

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Wanted:
    """Which image of an index to take: platforms in order of preference.

    ``asked`` when a user (``--platform``) or a contest named them: the image must then be for one
    of them. Otherwise they are the host's defaults, used only to choose from an index, as
    ``docker pull`` does.
    """

    platforms: tuple[Platform, ...] = ()
    asked: bool = False

    @classmethod
    def named(cls, platforms: tuple[Platform, ...]) -> Wanted:
        return cls(platforms, asked=bool(platforms))

    @property
    def required(self) -> tuple[Platform, ...]:
        """The platforms an image must be for: the asked ones, or none."""
        return self.platforms if self.asked else ()

    def __str__(self) -> str:
        return ", ".join(str(p) for p in self.platforms) or "any platform"


ANY = Wanted()  # no preference: an index must hold one image

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
# The platforms of docker-library/hello-world, in its index order (docs/ladder.md), with 386.
ALL_PLATFORMS: tuple[Platform, ...] = (
    LINUX_AMD64, LINUX_ARM_V5, LINUX_ARM_V6, LINUX_ARM_V7, LINUX_ARM64, LINUX_386,
    LINUX_MIPS64LE, LINUX_PPC64LE, LINUX_RISCV64, LINUX_S390X,
)  # fmt: skip
# What imagegolf builds programs for today.
SUPPORTED: tuple[Platform, ...] = (LINUX_386, LINUX_AMD64, LINUX_ARM64)
DEFAULT = LINUX_386
