"""The declared platform must be what runs (docs/judge.md #5, #29): config os/architecture vs the ELF.

The kernel picks its ELF loader by ``e_machine`` alone (fs/binfmt_elf.c elf_check_arch; ia32
through compat_binfmt_elf), so on a native architecture the machine is what must match; EI_CLASS
and EI_DATA are not read there (tiny hand-made files reuse those bytes). A foreign architecture
runs through qemu-user, whose loader also checks EI_CLASS and EI_DATA, so those must match too.
"""

from __future__ import annotations

from imagegolf.elf.spec import ELF_MAGIC, Machine
from imagegolf.errors import BadInputError
from imagegolf.judge.host import MACHINE_NAMES, Host
from imagegolf.platform import ARCHES, Arch, Platform

EM_486 = Machine.EM_486  # accepted by the kernel's ia32 loader beside EM_386 (elf_check_arch_ia32)


def check_platform(declared: Platform, asked: bool, entry: str | None, head: bytes, host: Host) -> None:
    """Raise BadInputError (REJECTED_IMAGE) when the image is not what its config says it is.

    ``entry`` is the file the image runs (None when it cannot be found) and ``head`` its first bytes.
    """
    if declared.os != "linux":
        raise BadInputError(f"the image config says os {declared.os!r}: the judge runs linux images only")
    arch = ARCHES.get(declared.architecture)
    if arch is None:
        raise BadInputError(f"the image config has an unknown architecture {declared.architecture!r}")
    native = arch.elf_machine in host.native
    if not native and not asked:
        raise BadInputError(
            f"the image is for {declared}, which this judge ({host.description}) runs only through "
            f"emulation, and only when the judging settings name the platform {declared}"
        )
    if entry is None or not head.startswith(ELF_MAGIC):
        return
    field = head[18:20].ljust(2, b"\0")
    big = arch.big_endian and not native  # qemu reads e_machine in the file's byte order
    machine = int.from_bytes(field, "big") if big else int.from_bytes(field, "little")
    if machine not in _machines(arch):
        name = MACHINE_NAMES.get(machine, "another machine")
        raise BadInputError(
            f"the image config says {declared}, but its command {entry} is an ELF for {name} "
            f"(e_machine {machine}, not {arch.elf_machine})"
        )
    if not native:
        ident_class, ident_data = head[4:5], head[5:6]
        if ident_class != bytes([arch.elf_class]) or ident_data != bytes([2 if arch.big_endian else 1]):
            raise BadInputError(
                f"the image config says {declared}, but its command {entry} has EI_CLASS {ident_class!r} "
                f"and EI_DATA {ident_data!r}, which qemu-user's loader for {declared.architecture} refuses"
            )


def _machines(arch: Arch) -> frozenset[int]:
    return frozenset({arch.elf_machine, EM_486}) if arch.oci == "386" else frozenset({arch.elf_machine})
