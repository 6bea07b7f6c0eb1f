"""Shared checks for the qemu-only layouts (ppc64le, s390x, mips64le).

Each program is executed twice: as `qemu-<arch>-static FILE` (qemu's own loader) and by exec'ing
the file itself (the kernel's binfmt_misc picks qemu, as podman, docker and containerd do).
A missing qemu binary or binfmt registration is a failure, not a skip.
"""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

BINFMT = Path("/proc/sys/fs/binfmt_misc")
SETUP_HINT = "run scripts/setup.sh (as root) to register qemu-user-static with binfmt_misc"
DEFAULT = b"hello IDBS engineering\n"
LENGTHS = [1, 23, 255, 256, 4096, 65536]


@dataclass(frozen=True)
class Arch:
    name: str  # qemu's name: qemu-<name>-static, /proc/sys/fs/binfmt_misc/qemu-<name>
    build: Callable[[bytes], bytes]
    machine: str  # pyelftools' e_machine name
    little_endian: bool
    magic: bytes  # the published qemu-user-static registration (qemu-binfmt-conf.sh)
    mask: bytes


def message_of(length: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(length))


def binfmt_matches(data: bytes, magic: bytes, mask: bytes, offset: int = 0) -> bool:
    """fs/binfmt_misc.c check_file: every masked byte equals the magic's."""
    window = data[offset : offset + len(magic)]
    window += bytes(len(magic) - len(window))
    return all((byte ^ want) & bits == 0 for byte, want, bits in zip(window, magic, mask, strict=True))


def registration(arch: Arch) -> tuple[int, bytes, bytes]:
    """(offset, magic, mask) of this host's entry; fails with the setup hint if it is missing."""
    status = BINFMT / "status"
    entry = BINFMT / f"qemu-{arch.name}"
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

    def run(self, program: bytes, arch: Arch, *, via: str, stdout_to_file: bool = False) -> Result:
        path = self._directory / f"{arch.name}-{next(self._counter)}"
        path.write_bytes(program)
        path.chmod(0o755)
        if via == "qemu":
            qemu = shutil.which(f"qemu-{arch.name}-static")
            if qemu is None:
                pytest.fail(f"qemu-{arch.name}-static is not installed: run scripts/setup.sh")
            command = [qemu, str(path)]
        else:
            registration(arch)
            command = [str(path)]
        try:
            if stdout_to_file:
                out_path = path.with_suffix(".out")
                with out_path.open("wb") as out:
                    done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, env={}, timeout=20)
                stdout = out_path.read_bytes()
                out_path.unlink()
            else:
                done = subprocess.run(command, capture_output=True, env={}, timeout=20)
                stdout = done.stdout
        except OSError as error:  # ENOEXEC: the first bytes matched no registration
            pytest.fail(f"the kernel refused the {arch.name} program ({error}); head {program[:20].hex()}")
        path.unlink()
        return Result(done.returncode, stdout, done.stderr)


def parse(program: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(program))
