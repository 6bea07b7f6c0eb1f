"""Every layout with what it relies on, and the profiles that choose among them.

Pure: values in, bytes out. A profile names the risks it accepts:

- ``portable`` (the default): any Linux ≥ 4.x for the architecture, exit 0; nothing assumed of
  stdin, argc beyond argv[1] in argv mode, or the address-space limit.
- ``record``: the smallest file the default judge accepts (podman or docker with runc, stdin
  /dev/null, CMD as built, exit 0): portable's layouts plus every trick that holds there.
- ``any-exit``: record plus layouts whose exit status is not 0 (boards with ``judge --exit any``).
- ``gvisor``: what gVisor's loader (runsc) accepts: genuine EI_CLASS/EI_DATA/EI_VERSION, a whole
  64-byte ELF64 header, e_phentsize 56, EM_X86_64 or EM_AARCH64; no i386.
- ``modern``: an older name, kept for callers; it builds the portable bytes.

The builder takes, among a profile's layouts for the platform and mode, those whose message
conditions hold (reliance.MessageLength, MessageWord) and keeps the smallest file, the first
listed on a tie (the portable one where it ties).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from imagegolf.elf import x86_32, x86_64_dyn
from imagegolf.elf.reliance import (
    AddressSpace,
    ArgCount,
    FailsUnder,
    Loader,
    MessageLength,
    MessageWord,
    Needs,
    NonZeroExit,
    Reliance,
    StdinZeroRead,
    broken_by,
)


class Mode(enum.StrEnum):
    EMBED = "embed"
    ARGV = "argv"


class Profile(enum.StrEnum):
    PORTABLE = "portable"
    RECORD = "record"
    ANY_EXIT = "any-exit"
    GVISOR = "gvisor"
    MODERN = "modern"  # the portable bytes: no layout needs the post-elf_load() loaders


@dataclass(frozen=True)
class Layout:
    """One way to draw the program for an architecture and mode, and what it relies on."""

    name: str  # "amd64/embed/split"
    architecture: str  # Platform.architecture: "386", "amd64", "arm64", "arm", …
    mode: Mode
    build: Callable[[bytes], bytes]  # message -> file (argv layouts ignore the message)
    relies_on: tuple[Reliance, ...] = ()
    summary: str = ""

    def broken_by(self, message: bytes) -> tuple[Reliance, ...]:
        """The message conditions ``message`` breaks (empty: this layout can carry it)."""
        return broken_by(self.relies_on, message)


@dataclass(frozen=True)
class Choice:
    """What the builder chose for one message, and why it passed over the others."""

    layout: Layout
    program: bytes
    passed_over: tuple[tuple[Layout, tuple[Reliance, ...]], ...] = ()  # layouts whose conditions broke


def _lazy(module: str, function: str) -> Callable[..., bytes]:
    """A builder of ``imagegolf.elf.<module>``, imported at its first call: building for one
    platform loads that architecture's module, not all of them (start-up is most of what
    `imagegolf build` costs; bench/cli_speed.py). x86_32 and x86_64_dyn are imported above for
    the constants the reliances quote."""

    def build(*args: bytes) -> bytes:
        built: bytes = getattr(importlib.import_module(f"imagegolf.elf.{module}"), function)(*args)
        return built

    return build


def _argv(builder: Callable[[], bytes]) -> Callable[[bytes], bytes]:
    return lambda _message: builder()


_NO_GVISOR_ARCH = FailsUnder(Loader.GVISOR, "gVisor runs amd64 and arm64 programs only")
_IA32 = Needs(Loader.IA32_EMULATION, "an EM_386 file; a host booted with ia32_emulation=0 refuses it")
_X86_IDENT_CODE = FailsUnder(
    Loader.QEMU_USER, "e_ident[4..15] holds code or data; qemu checks EI_CLASS, EI_DATA, EI_VERSION"
)
_GVISOR_IDENT = FailsUnder(
    Loader.GVISOR, "e_ident[4..6] is not ELFCLASS64, ELFDATA2LSB, EV_CURRENT (gVisor parseHeader)"
)
_QEMU_EHSIZE = FailsUnder(Loader.QEMU_USER, "e_ehsize holds code; qemu's elf_check_ehdr wants 64")
_ARGV1 = ArgCount(2, why="argv[1] is the message")
_ARGC1 = ArgCount(1, 1, why="`pop rdi` takes argc as the fd: argc 2 writes to stderr")
_SPACE = AddressSpace(x86_64_dyn.SEGMENT_SPAN)
# p_memsz of the layouts whose p_memsz is code or e_entry: at least this much (test_reliances.py)
_SPACE_386 = AddressSpace(x86_32.ENTRY)  # p_memsz = e_entry = 0x0d430014
_SPACE_ARM64 = AddressSpace(0x1800_0000)  # 0x17fffff4: `b 40`
_SPACE_ARM = AddressSpace(0x2002_0000)  # two Thumb halfwords
_SPACE_MIPS = AddressSpace(0x3403_0000)  # `ori $zero, …`
_SPACE_PPC = AddressSpace(0x4800_0010)  # `b +16`
_LONG_MESSAGES = MessageLength(1, x86_64_dyn.SPLIT_MAX, why="three 8-byte chunks")
_P_ALIGN = MessageWord(8, 8, "p_align of an ET_DYN program", "a power of two above 4096")
_STATUS_IS_LENGTH = NonZeroExit("LEN mod 256, what write returned")

LAYOUTS: tuple[Layout, ...] = (
    # i386: Brian Raiter's teensy header (x86_32.py)
    Layout("386/embed/teensy", "386", Mode.EMBED, x86_32.embed,
           (_SPACE_386, _IA32, _X86_IDENT_CODE, _NO_GVISOR_ARCH), "48 + len (57 + len from 256 bytes)"),
    Layout("386/embed/any-exit", "386", Mode.EMBED, x86_32.embed_any_exit,
           (_STATUS_IS_LENGTH, _SPACE_386, _IA32, _X86_IDENT_CODE, _NO_GVISOR_ARCH),
           "46 + len, the header's floor (56 + len from 256 bytes)"),
    Layout("386/argv/teensy", "386", Mode.ARGV, _argv(x86_32.argv),
           (_ARGV1, _SPACE_386, _IA32, _X86_IDENT_CODE, _NO_GVISOR_ARCH), "50 bytes"),
    Layout("386/argv/masked", "386", Mode.ARGV, _argv(x86_32.argv_masked),
           (MessageLength(clear_bits=0x10020, why="the exit computes eax = LEN & 0x10020, then + 1"),
            _ARGV1, _SPACE_386, _IA32, _X86_IDENT_CODE, _NO_GVISOR_ARCH), "49 bytes"),
    Layout("386/argv/any-exit", "386", Mode.ARGV, _argv(x86_32.argv_any_exit),
           (_STATUS_IS_LENGTH, _ARGV1, _SPACE_386, _IA32, _X86_IDENT_CODE, _NO_GVISOR_ARCH), "48 bytes"),
    # amd64: the ET_EXEC header at 24 (x86_64.py) and the ET_DYN one at 12 (x86_64_dyn.py)
    Layout("amd64/embed/teensy", "amd64", Mode.EMBED, _lazy("x86_64", "embed"),
           (_X86_IDENT_CODE, _GVISOR_IDENT), "72 + len, at least 80 (83 + len from 256 bytes)"),
    Layout("amd64/embed/split", "amd64", Mode.EMBED, x86_64_dyn.embed_split,
           (_LONG_MESSAGES, _P_ALIGN, StdinZeroRead(), _SPACE, _ARGC1, _X86_IDENT_CODE, _GVISOR_IDENT),
           "69 + len for 17-24 bytes; 79 up to 8, 82 up to 16"),
    Layout("amd64/embed/gvisor", "amd64", Mode.EMBED, x86_64_dyn.embed_gvisor,
           (StdinZeroRead(), _SPACE, _ARGC1, _QEMU_EHSIZE), "75 + len"),
    Layout("amd64/argv/teensy", "amd64", Mode.ARGV, _argv(_lazy("x86_64", "argv")),
           (_ARGV1, _X86_IDENT_CODE, _GVISOR_IDENT), "80 bytes"),
    Layout("amd64/argv/dyn", "amd64", Mode.ARGV, _argv(x86_64_dyn.argv_dyn),
           (_ARGV1, _SPACE, _X86_IDENT_CODE, _GVISOR_IDENT), "73 bytes, the smallest ELF64 there is"),
    Layout("amd64/argv/gvisor", "amd64", Mode.ARGV, _argv(x86_64_dyn.argv_gvisor),
           (MessageLength(1, 255, why="`mov al, 60` on write's result"),
            ArgCount(2, 2, why="argv[2] = NULL is popped as the exit status"), _SPACE, _QEMU_EHSIZE),
           "73 bytes"),
    Layout("amd64/argv/gvisor-long", "amd64", Mode.ARGV, _argv(x86_64_dyn.argv_gvisor_long),
           (_ARGV1, _SPACE, _QEMU_EHSIZE), "80 bytes"),
    # arm64: three loaders' rules at once (arm64.py); gVisor's are a subset of qemu's
    Layout("arm64/embed/teensy", "arm64", Mode.EMBED, _lazy("arm64", "embed"), (_SPACE_ARM64,),
           "112 + len (116 + len from 64 KiB)"),
    Layout("arm64/argv/teensy", "arm64", Mode.ARGV, _argv(_lazy("arm64", "argv")), (_ARGV1,), "132 bytes"),
    # the other platforms of hello-world's index, embed only
    Layout("arm/embed/thumb", "arm", Mode.EMBED, _lazy("arm32", "build_embed"), (_SPACE_ARM, _NO_GVISOR_ARCH),
           "64 + len"),
    Layout("riscv64/embed/rvc", "riscv64", Mode.EMBED, _lazy("riscv64", "build_embed"), (_NO_GVISOR_ARCH,),
           "112 + len"),
    Layout("ppc64le/embed/elfv2", "ppc64le", Mode.EMBED, _lazy("ppc64le", "build_embed"),
           (_SPACE_PPC, _NO_GVISOR_ARCH),
           "120 + len"),
    Layout("s390x/embed/msb", "s390x", Mode.EMBED, _lazy("s390x", "build_embed"), (_NO_GVISOR_ARCH,),
           "118 + len"),
    Layout("mips64le/embed/nops", "mips64le", Mode.EMBED, _lazy("mips64le", "build_embed"),
           (_SPACE_MIPS, _NO_GVISOR_ARCH),
           "112 + len"),
)  # fmt: skip

_BY_NAME = {layout.name: layout for layout in LAYOUTS}
_PORTABLE = (
    "386/embed/teensy", "386/argv/teensy", "amd64/embed/teensy", "amd64/argv/teensy",
    "arm64/embed/teensy", "arm64/argv/teensy", "arm/embed/thumb", "riscv64/embed/rvc",
    "ppc64le/embed/elfv2", "s390x/embed/msb", "mips64le/embed/nops",
)  # fmt: skip
_RECORD = (*_PORTABLE, "386/argv/masked", "amd64/embed/split", "amd64/argv/dyn")
PROFILES: dict[Profile, tuple[str, ...]] = {
    Profile.PORTABLE: _PORTABLE,
    Profile.MODERN: _PORTABLE,
    Profile.RECORD: _RECORD,
    Profile.ANY_EXIT: (*_RECORD, "386/embed/any-exit", "386/argv/any-exit"),
    Profile.GVISOR: (
        "amd64/embed/gvisor", "amd64/argv/gvisor", "amd64/argv/gvisor-long",
        "arm64/embed/teensy", "arm64/argv/teensy",
    ),
}  # fmt: skip


def layout(name: str) -> Layout:
    """The layout called ``name``."""
    return _BY_NAME[name]


def candidates(architecture: str, mode: Mode, profile: Profile) -> tuple[Layout, ...]:
    """The profile's layouts for one architecture and mode, in order of preference."""
    return tuple(
        _BY_NAME[name]
        for name in PROFILES[profile]
        if _BY_NAME[name].architecture == architecture and _BY_NAME[name].mode is mode
    )


def choose(message: bytes, architecture: str, mode: Mode, profile: Profile) -> Choice | None:
    """The smallest program among the candidates whose message conditions hold, or None."""
    best: tuple[Layout, bytes] | None = None
    passed_over: list[tuple[Layout, tuple[Reliance, ...]]] = []
    for candidate in candidates(architecture, mode, profile):
        broken = candidate.broken_by(message)
        if broken:
            passed_over.append((candidate, broken))
            continue
        program = candidate.build(message)
        if best is None or len(program) < len(best[1]):
            best = (candidate, program)
    return Choice(best[0], best[1], tuple(passed_over)) if best else None


def profiles_of(name: str) -> tuple[Profile, ...]:
    """The profiles that list the layout called ``name`` (modern aside: it is portable's)."""
    return tuple(p for p, names in PROFILES.items() if name in names and p is not Profile.MODERN)
