"""What this host can execute: its own machine, ia32 on x86-64, and binfmt_misc handlers.

Containers share the host kernel, so a foreign-architecture program runs only through a
binfmt_misc handler (qemu-user) registered on the host, with the F flag so that the
interpreter is opened on the host rather than looked up inside the image.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from imagegolf.elf.spec import Machine
from imagegolf.images.host import NATIVE_MACHINES, native_platforms
from imagegolf.platform import Platform

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
MACHINE_NAMES: dict[int, str] = {  # human names, for messages
    Machine.EM_386: "i386",
    Machine.EM_MIPS: "MIPS",
    Machine.EM_PPC: "PowerPC",
    Machine.EM_PPC64: "PowerPC64",
    Machine.EM_S390: "s390",
    Machine.EM_ARM: "ARM",
    Machine.EM_X86_64: "x86-64",
    Machine.EM_AARCH64: "AArch64",
    Machine.EM_RISCV: "RISC-V",
    Machine.EM_LOONGARCH: "LoongArch",
}


@dataclass(frozen=True)
class BinfmtHandler:
    """One ``magic``-type binfmt_misc registration."""

    name: str
    interpreter: str
    flags: str
    offset: int
    magic: bytes
    mask: bytes

    def matches(self, head: bytes) -> bool:
        window = head[self.offset : self.offset + len(self.magic)]
        if len(window) < len(self.magic):
            return False
        return all((b & m) == (x & m) for b, m, x in zip(window, self.mask, self.magic, strict=True))

    @property
    def preopened(self) -> bool:
        """The F flag: the kernel opened the interpreter at registration; the image need not hold it."""
        return "F" in self.flags


@dataclass(frozen=True)
class Host:
    uname: str
    native: frozenset[int]
    handlers: tuple[BinfmtHandler, ...] = field(default=())

    @property
    def description(self) -> str:
        return {"x86_64": "x86-64", "aarch64": "AArch64", "i686": "i386"}.get(self.uname, self.uname)

    @property
    def platforms(self) -> tuple[Platform, ...]:
        """What ``docker pull`` takes from an index here, in order: this machine's platform, then
        the others it runs natively (x86-64: linux/amd64, then linux/386 through ia32)."""
        return native_platforms(self.uname, self.native)

    def handler_for(self, head: bytes) -> BinfmtHandler | None:
        return next((h for h in self.handlers if h.matches(head)), None)


def current_host() -> Host:
    uname = platform.machine()
    return Host(uname, NATIVE_MACHINES.get(uname, frozenset()), tuple(binfmt_handlers()))


def binfmt_handlers(directory: Path = BINFMT_DIR) -> list[BinfmtHandler]:
    """The enabled magic-type handlers (none when binfmt_misc is absent or disabled)."""
    try:
        if (directory / "status").read_text().strip() != "enabled":
            return []
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    handlers = []
    for name in names:
        if name in ("status", "register"):
            continue
        handler = _parse_handler(directory / name)
        if handler is not None:
            handlers.append(handler)
    return handlers


def _parse_handler(path: Path) -> BinfmtHandler | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    if not lines or lines[0].strip() != "enabled":
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        fields[key.rstrip(":")] = value.strip()
    if "magic" not in fields:
        return None  # an extension-type handler: matched by file name, not by content
    try:
        magic = bytes.fromhex(fields["magic"])
        mask = bytes.fromhex(fields.get("mask", "ff" * len(magic)))
        offset = int(fields.get("offset", "0"))
    except ValueError:
        return None
    return BinfmtHandler(
        path.name, fields.get("interpreter", ""), fields.get("flags", ""), offset, magic, mask
    )
