"""riscv64 embed programs, executed: under `qemu-riscv64-static FILE` and by exec'ing the file
itself (the kernel's binfmt_misc hands it to qemu-riscv64, as container engines do), stdout as
a pipe and as a file. A host without the qemu-riscv64 registration fails: run scripts/setup.sh.
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.test_arm64_binfmt import binfmt_matches, registration

from imagegolf.elf import MAX_MESSAGE, riscv64
from imagegolf.errors import UsageError

QEMU = "qemu-riscv64-static"
ENTRY = Path("/proc/sys/fs/binfmt_misc/qemu-riscv64")
MAGIC = bytes.fromhex("7f454c460201010000000000000000000200f300")
MASK = bytes.fromhex("ffffffffffffff00fffffffffffffffffeffffff")
DEFAULT = b"hello IDBS engineering\n"
GOLDEN = "42f6921f1f2830297c331626f379146e45f43c9cd0201fb7a79cfa87d5afff37"
LENGTHS = [1, 23, 24, 255, 256, 4096, 65535, 65536, 1 << 20]
SETUP_HINT = "run scripts/setup.sh (as root) to register qemu-riscv64 with binfmt_misc"


def message_of(length: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(length))


def run(program: bytes, directory: Path, *, via: str, to_file: bool) -> tuple[int, bytes, bytes]:
    path = directory / f"prog-{via}-{to_file}-{len(program)}"
    path.write_bytes(program)
    path.chmod(0o755)
    if via == "qemu":
        qemu = shutil.which(QEMU)
        if qemu is None:
            pytest.fail(f"{QEMU} is not installed: apt-get install qemu-user-static")
        command = [qemu, str(path)]
    else:
        require_binfmt()
        command = [str(path)]
    try:
        if to_file:
            out = path.with_suffix(".out")
            with out.open("wb") as sink:
                done = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env={}, timeout=30)
            stdout = out.read_bytes()
        else:
            done = subprocess.run(command, capture_output=True, env={}, timeout=30)
            stdout = done.stdout
    except OSError as error:  # ENOEXEC: binfmt_misc did not match the first 20 bytes
        pytest.fail(f"the kernel refused the program ({error}); first bytes {program[:20].hex()}")
    return done.returncode, stdout, done.stderr


def read_le(data: bytes, at: int, *, size: int) -> int:
    return int.from_bytes(data[at : at + size], "little")


def require_binfmt() -> None:
    if not ENTRY.exists():
        pytest.fail(f"{ENTRY} does not exist: {SETUP_HINT}")
    enabled, _, _, _ = registration(ENTRY)
    if not enabled:
        pytest.fail(f"{ENTRY} is disabled: {SETUP_HINT}")


@pytest.mark.parametrize("to_file", [False, True], ids=["pipe", "file"])
@pytest.mark.parametrize("via", ["qemu", "binfmt"])
@pytest.mark.parametrize("length", LENGTHS)
def test_embed_prints_exactly_the_message(tmp_path: Path, length: int, via: str, to_file: bool) -> None:
    message = message_of(length)
    assert run(riscv64.build_embed(message), tmp_path, via=via, to_file=to_file) == (0, message, b"")


@pytest.mark.parametrize("via", ["qemu", "binfmt"])
def test_default_message(tmp_path: Path, via: str) -> None:
    assert run(riscv64.build_embed(DEFAULT), tmp_path, via=via, to_file=False) == (0, DEFAULT, b"")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=1, max_size=600))
def test_any_binary_message(tmp_path: Path, message: bytes) -> None:
    program = riscv64.build_embed(message)
    assert binfmt_matches(program, MAGIC, MASK)
    assert run(program, tmp_path, via="binfmt", to_file=False) == (0, message, b"")


def test_sizes() -> None:
    overhead = {n: len(riscv64.build_embed(b"s" * n)) - n for n in (1, 23, 24, 255, 256, 65536)}
    assert overhead == {1: 112, 23: 112, 24: 112, 255: 112, 256: 112, 65536: 112}
    assert len(riscv64.build_embed(DEFAULT)) == 135


def test_golden_sha256() -> None:
    digest = hashlib.sha256(riscv64.build_embed(DEFAULT)).hexdigest()
    assert digest == GOLDEN


@pytest.mark.parametrize("length", [1, 255, 256, 65536])
def test_matches_the_qemu_riscv64_binfmt_entry(length: int) -> None:
    program = riscv64.build_embed(message_of(length))
    assert binfmt_matches(program, MAGIC, MASK)
    assert program[:16] == b"\x7fELF\x02\x01\x01" + bytes(9)
    if ENTRY.exists():  # this host's registration, when it has one (the binfmt runs need it)
        _, offset, magic, mask = registration(ENTRY)
        assert binfmt_matches(program, magic, mask, offset)


def test_the_byte_check_is_not_vacuous() -> None:
    good = riscv64.build_embed(DEFAULT)
    for offset, value, verdict in [
        (7, 3, True),
        (16, 3, True),
        (4, 1, False),
        (9, 1, False),
        (18, 183, False),
    ]:
        changed = good[:offset] + bytes([value]) + good[offset + 1 :]
        assert binfmt_matches(changed, MAGIC, MASK) is verdict, offset


def test_loader_rules() -> None:
    """The fields Linux (binfmt_elf.c, arch/riscv elf_check_arch) and qemu-riscv64 check."""
    for length in (1, 2047, 2048, 65536):
        program = riscv64.build_embed(message_of(length))
        u16 = functools.partial(read_le, program, size=2)
        u32 = functools.partial(read_le, program, size=4)
        u64 = functools.partial(read_le, program, size=8)
        assert program[4] == 2 and (u16(16), u16(18), u16(52), u16(54), u16(56)) == (2, 243, 64, 56, 1)
        phoff = u64(32)
        assert phoff + 56 <= len(program)  # the program header lies inside the file
        p_type, flags = u32(phoff), u32(phoff + 4)
        p_offset, p_vaddr, _, filesz, memsz, _ = (u64(phoff + 8 + 8 * i) for i in range(6))
        assert p_type == 1 and p_offset % 4096 == p_vaddr % 4096 and p_vaddr - p_offset >= 0x10000
        assert filesz == memsz and p_offset + filesz >= MAX_MESSAGE + 112  # maps any message
        assert flags & 7 == 5  # PF_R | PF_X
        entry = u64(24)
        assert entry % 2 == 0 and p_vaddr - p_offset <= entry < p_vaddr - p_offset + len(program)
        assert u32(48) & 0x8 == 0  # EF_RISCV_RVE clear: qemu refuses only RVE mismatches


def test_pyelftools_reads_the_header() -> None:
    elf = ELFFile(io.BytesIO(riscv64.build_embed(DEFAULT)))
    assert elf.elfclass == 64 and elf.little_endian
    assert elf["e_machine"] == "EM_RISCV"
    assert elf["e_entry"] == 0x10068
    segment = elf.get_segment(0)
    assert segment["p_type"] == "PT_LOAD" and segment["p_vaddr"] == 0x10073


def test_disassembly_runs_as_documented() -> None:
    capstone = pytest.importorskip("capstone")
    program = riscv64.build_embed(DEFAULT)
    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)

    def listing(start: int, end: int) -> list[str]:
        return [f"{i.mnemonic} {i.op_str}".strip() for i in md.disasm(program[start:end], start)]

    assert listing(104, 112) == ["auipc a1, 0", "c.addi a1, 8", "c.j -0x1e"]
    assert listing(80, 90) == ["lui a2, 0", "addi a2, a2, 0x17", "c.j -0x30"]
    assert listing(40, 52) == ["c.li a0, 1", "addi a7, zero, 0x40", "ecall", "c.j 0xa"]
    assert listing(60, 68) == ["c.addi a7, 0x1d", "c.li a0, 0", "ecall"]


def test_empty_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        riscv64.build_embed(b"")
