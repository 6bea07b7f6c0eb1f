"""Shared checks for the embed-only layouts run under qemu (arm32, riscv64, mips64le, ppc64le,
s390x); tests/elf/test_foreign_platforms.py holds the table of platforms.

Each program is executed twice: as `qemu-<arch>-static FILE` (qemu's own loader) and by exec'ing
the file itself (the kernel's binfmt_misc picks qemu, as podman, docker and containerd do).
A missing qemu binary or binfmt registration is a failure, not a skip.
"""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
from elftools.elf.elffile import ELFFile

BINFMT = Path("/proc/sys/fs/binfmt_misc")
SETUP_HINT = "run scripts/setup.sh (as root) to register qemu-user-static with binfmt_misc"
DEFAULT = b"hello IDBS engineering\n"


@dataclass(frozen=True)
class Platform:
    """One row of the table: everything the shared tests need to know about a layout."""

    name: str  # test id
    builder: ModuleType  # imagegolf.elf.<module>, whose build_embed(message) makes the program
    qemu: str  # qemu-user-static binary, run as `qemu FILE`
    entry: Path  # this host's binfmt_misc registration for that qemu
    magic: bytes  # the published qemu-user-static registration (qemu-binfmt-conf.sh)
    mask: bytes
    golden: str  # sha256 of the program for DEFAULT (23 bytes)
    default_size: int  # len(program) for DEFAULT
    overhead: Mapping[int, int]  # message length -> file bytes besides the message
    machine: str  # pyelftools' e_machine name
    little_endian: bool
    # the rest is what arm32 and riscv64 add to, or change from, the 64-bit qemu-only rows
    elfclass: int = 64
    run_lengths: tuple[int, ...] = (1, 23, 255, 256, 4096, 65536)  # executed via qemu and binfmt
    byte_edits: tuple[tuple[int, int, bool], ...] = ()  # (offset, new byte, still matches the mask)
    loader_rules: Callable[[bytes], None] | None = None  # the arch's kernel/qemu loader checks
    rule_lengths: tuple[int, ...] = ()  # message lengths loader_rules is checked at
    elf_header: Mapping[str, object] = field(default_factory=dict)  # exact pyelftools fields
    elf_segment: Mapping[str, object] = field(default_factory=lambda: {"p_offset": 0})  # of PT_LOAD

    def build(self, message: bytes) -> bytes:
        program: bytes = self.builder.build_embed(message)
        return program


def message_of(length: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(length))


def read_le(data: bytes, at: int, *, size: int) -> int:
    return int.from_bytes(data[at : at + size], "little")


def binfmt_matches(data: bytes, magic: bytes, mask: bytes, offset: int = 0) -> bool:
    """fs/binfmt_misc.c check_file: every masked byte equals the magic's (zero-filled past EOF)."""
    window = data[offset : offset + len(magic)]
    window += bytes(len(magic) - len(window))
    return all((byte ^ want) & bits == 0 for byte, want, bits in zip(window, magic, mask, strict=True))


def registration(platform: Platform) -> tuple[int, bytes, bytes]:
    """(offset, magic, mask) of this host's entry; fails with the setup hint if it is missing."""
    status = BINFMT / "status"
    entry = platform.entry
    if not status.exists():
        pytest.fail(f"binfmt_misc is not mounted at {BINFMT}: {SETUP_HINT}")
    if status.read_text().strip() != "enabled":
        pytest.fail(f"binfmt_misc is disabled: {SETUP_HINT}")
    if not entry.exists():
        pytest.fail(f"{entry} does not exist: {SETUP_HINT}")
    lines = entry.read_text().splitlines()
    if lines[0] != "enabled":
        pytest.fail(f"{entry} is disabled: {SETUP_HINT}")
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    magic = bytes.fromhex(fields["magic"])
    mask = bytes.fromhex(fields.get("mask", "ff" * len(magic)))
    return int(fields.get("offset", "0")), magic, mask


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes


class Executor:
    """Writes each program to its own 755 file and runs it through qemu or binfmt_misc."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._counter = itertools.count()

    def run(self, program: bytes, platform: Platform, *, via: str, stdout_to_file: bool = False) -> Result:
        path = self._directory / f"{platform.name}-{next(self._counter)}"
        path.write_bytes(program)
        path.chmod(0o755)
        if via == "qemu":
            qemu = shutil.which(platform.qemu)
            if qemu is None:
                pytest.fail(f"{platform.qemu} is not installed: run scripts/setup.sh")
            command = [qemu, str(path)]
        else:
            registration(platform)
            command = [str(path)]
        try:
            if stdout_to_file:
                out_path = path.with_suffix(".out")
                with out_path.open("wb") as out:
                    done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, env={}, timeout=30)
                stdout = out_path.read_bytes()
                out_path.unlink()
            else:
                done = subprocess.run(command, capture_output=True, env={}, timeout=30)
                stdout = done.stdout
        except OSError as error:  # ENOEXEC: the first bytes matched no registration
            pytest.fail(
                f"the kernel refused the {platform.name} program ({error}); head {program[:20].hex()}"
            )
        path.unlink()
        return Result(done.returncode, stdout, done.stderr)


def parse(program: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(program))
