"""arm32 (linux/arm/v5, v6, v7) embed programs, executed: under `qemu-arm-static FILE` and by
exec'ing the file itself (the kernel's binfmt_misc hands it to qemu-arm, as container engines
do), stdout as a pipe and as a file. A host without the qemu-arm registration fails: run
scripts/setup.sh.
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

from imagegolf.elf import MAX_MESSAGE, arm32
from imagegolf.errors import UsageError

QEMU = "qemu-arm-static"
ENTRY = Path("/proc/sys/fs/binfmt_misc/qemu-arm")
MAGIC = bytes.fromhex("7f454c4601010100000000000000000002002800")
MASK = bytes.fromhex("ffffffffffffff00fffffffffffffffffeffffff")
DEFAULT = b"hello IDBS engineering\n"
GOLDEN = "ff83cd06beb7baec17e6fd3b0c6284922c7467f5c9aaf1f5891061793bae23a9"
LENGTHS = [1, 23, 24, 255, 256, 4096, 65535, 65536, 1 << 20]
SETUP_HINT = "run scripts/setup.sh (as root) to register qemu-arm with binfmt_misc"


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
    assert run(arm32.build_embed(message), tmp_path, via=via, to_file=to_file) == (0, message, b"")


@pytest.mark.parametrize("via", ["qemu", "binfmt"])
def test_default_message(tmp_path: Path, via: str) -> None:
    assert run(arm32.build_embed(DEFAULT), tmp_path, via=via, to_file=False) == (0, DEFAULT, b"")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=1, max_size=600))
def test_any_binary_message(tmp_path: Path, message: bytes) -> None:
    program = arm32.build_embed(message)
    assert binfmt_matches(program, MAGIC, MASK)
    assert run(program, tmp_path, via="binfmt", to_file=False) == (0, message, b"")


def test_sizes() -> None:
    overhead = {n: len(arm32.build_embed(b"s" * n)) - n for n in (1, 23, 24, 255, 256, 65536)}
    assert overhead == {1: 64, 23: 64, 24: 64, 255: 64, 256: 68, 65536: 68}
    assert len(arm32.build_embed(DEFAULT)) == 87


def test_golden_sha256() -> None:
    digest = hashlib.sha256(arm32.build_embed(DEFAULT)).hexdigest()
    assert digest == GOLDEN


@pytest.mark.parametrize("length", [1, 255, 256, 65536])
def test_matches_the_qemu_arm_binfmt_entry(length: int) -> None:
    program = arm32.build_embed(message_of(length))
    assert binfmt_matches(program, MAGIC, MASK)
    assert program[:16] == b"\x7fELF\x01\x01\x01" + bytes(9)
    if ENTRY.exists():  # this host's registration, when it has one (the binfmt runs need it)
        _, offset, magic, mask = registration(ENTRY)
        assert binfmt_matches(program, magic, mask, offset)


def test_the_byte_check_is_not_vacuous() -> None:
    good = arm32.build_embed(DEFAULT)
    for offset, value, verdict in [
        (7, 3, True),
        (16, 3, True),
        (4, 2, False),
        (9, 1, False),
        (18, 183, False),
    ]:
        changed = good[:offset] + bytes([value]) + good[offset + 1 :]
        assert binfmt_matches(changed, MAGIC, MASK) is verdict, offset


def test_loader_rules() -> None:
    """The fields Linux (binfmt_elf.c, arch/arm/kernel/elf.c) and qemu-arm check."""
    for length in (1, 255, 256):
        program = arm32.build_embed(message_of(length))
        u16 = functools.partial(read_le, program, size=2)
        u32 = functools.partial(read_le, program, size=4)
        assert (u16(16), u16(18), u16(40), u16(42), u16(44)) == (2, 40, 52, 32, 1)
        phoff = u32(28)
        assert phoff + 32 <= len(program)  # the program header lies inside the file
        p_type, p_offset, p_vaddr, _, filesz, memsz, flags, _ = (u32(phoff + 4 * i) for i in range(8))
        assert p_type == 1 and p_offset % 4096 == p_vaddr % 4096 and p_vaddr - p_offset >= 0x10000
        assert filesz == memsz and p_offset + filesz >= MAX_MESSAGE + 68  # maps any message
        assert p_vaddr + memsz < 0x3F000000  # below TASK_SIZE even with a 1G/3G split
        assert flags & 7 == 5  # PF_R | PF_X
        entry, eflags = u32(24), u32(36)
        assert entry & 1 and entry - 1 - (p_vaddr - p_offset) == 20  # Thumb, at e_version
        assert eflags >> 24 or (eflags & 0x08 == 0 and eflags & 0x600 != 0x400)  # elf_check_arch


def test_pyelftools_reads_the_header() -> None:
    elf = ELFFile(io.BytesIO(arm32.build_embed(DEFAULT)))
    assert elf.elfclass == 32 and elf.little_endian
    assert elf["e_machine"] == "EM_ARM"
    assert elf["e_entry"] == 0x200015
    segment = elf.get_segment(0)
    assert segment["p_type"] == "PT_LOAD" and segment["p_offset"] == 0x34


def test_disassembly_runs_as_documented() -> None:
    capstone = pytest.importorskip("capstone")
    program = arm32.build_embed(DEFAULT)
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB)
    text = [f"{i.mnemonic} {i.op_str}" for i in md.disasm(program[20:64], 20)]
    assert text[:2] == ["adr r6, #0x28", "movs r2, #0x17"]
    assert text[2:14] == [  # the header fields 24-47, run as Thumb
        "movs r5, r2", "movs r0, r4", "movs r0, r4", "movs r0, r0", "movs r1, r0", "movs r0, r0",
        "movs r4, r6", "movs r0, r0", "movs r4, r6", "movs r0, r4", "movs r1, r0", "movs r0, r0",
    ]  # fmt: skip
    assert text[14:] == [
        "movs r7, #4", "movs r0, #1", "movs r7, #4", "movs r0, #1",
        "svc #5", "movs r0, #0", "movs r7, #1", "svc #0",
    ]  # fmt: skip


def test_empty_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        arm32.build_embed(b"")
