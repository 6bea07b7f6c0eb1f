"""The embed-only layouts run under qemu: arm32 (linux/arm/v5, v6, v7), riscv64, mips64le,
ppc64le and s390x, one row of PLATFORMS each.

Every program is executed under `qemu-<arch>-static FILE` and by exec'ing the file itself (the
kernel's binfmt_misc hands it to qemu, as container engines do), stdout as a pipe and as a file:
stdout must be exactly the message, stderr empty, the exit status 0. A host without the qemu
binary or its binfmt_misc registration fails: run scripts/setup.sh. See tests/elf/foreign.py.
"""

from __future__ import annotations

import functools
import hashlib
from types import ModuleType
from typing import Any

import capstone
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.foreign import (
    BINFMT,
    DEFAULT,
    Executor,
    Platform,
    binfmt_matches,
    message_of,
    parse,
    read_le,
    registration,
)

from imagegolf.elf import MAX_MESSAGE, arm32, mips64le, ppc64le, riscv64, s390x
from imagegolf.errors import UsageError

LONG_RUNS = (1, 23, 24, 255, 256, 4096, 65535, 65536, 1 << 20)
MATCH_LENGTHS = (1, 2, 23, 24, 255, 256, 65535, 65536, 1 << 20)


def arm32_loader_rules(program: bytes) -> None:
    """The fields Linux (binfmt_elf.c, arch/arm/kernel/elf.c) and qemu-arm check."""
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


def riscv64_loader_rules(program: bytes) -> None:
    """The fields Linux (binfmt_elf.c, arch/riscv elf_check_arch) and qemu-riscv64 check."""
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


def qemu_platform(name: str, builder: ModuleType, qemu: str, magic: str, mask: str, **row: Any) -> Platform:
    """A row whose qemu binary and binfmt_misc entry are qemu-user-static's `qemu-<qemu>`."""
    return Platform(
        name=name,
        builder=builder,
        qemu=f"qemu-{qemu}-static",
        entry=BINFMT / f"qemu-{qemu}",
        magic=bytes.fromhex(magic),
        mask=bytes.fromhex(mask),
        **row,
    )


ARM32 = qemu_platform(
    "arm32", arm32, "arm",
    "7f454c4601010100000000000000000002002800", "ffffffffffffff00fffffffffffffffffeffffff",
    golden="ff83cd06beb7baec17e6fd3b0c6284922c7467f5c9aaf1f5891061793bae23a9",
    default_size=87,
    overhead={1: 64, 23: 64, 24: 64, 255: 64, 256: 68, 65536: 68},
    loader_rules=arm32_loader_rules, rule_lengths=(1, 255, 256),
    run_lengths=LONG_RUNS,
    byte_edits=((7, 3, True), (16, 3, True), (4, 2, False), (9, 1, False), (18, 183, False)),
    machine="EM_ARM", elfclass=32, little_endian=True,
    elf_header={"e_entry": 0x200015}, elf_segment={"p_offset": 0x34},
)  # fmt: skip
RISCV64 = qemu_platform(
    "riscv64", riscv64, "riscv64",
    "7f454c460201010000000000000000000200f300", "ffffffffffffff00fffffffffffffffffeffffff",
    golden="42f6921f1f2830297c331626f379146e45f43c9cd0201fb7a79cfa87d5afff37",
    default_size=135,
    overhead={1: 112, 23: 112, 24: 112, 255: 112, 256: 112, 65536: 112},
    loader_rules=riscv64_loader_rules, rule_lengths=(1, 2047, 2048, 65536),
    run_lengths=LONG_RUNS,
    byte_edits=((7, 3, True), (16, 3, True), (4, 1, False), (9, 1, False), (18, 183, False)),
    machine="EM_RISCV", elfclass=64, little_endian=True,
    elf_header={"e_entry": 0x10068}, elf_segment={"p_vaddr": 0x10073},
)  # fmt: skip
MIPS64LE = qemu_platform(
    "mips64le", mips64le, "mips64el",
    "7f454c4602010100000000000000000002000800", "ffffffffffffff00fefffffffffffffffeffffff",
    golden="2d73f9453bb1acfa6536c05a0ef171403c97b5d0566e5c5d0d641ba5a09c7171",
    default_size=135,
    overhead={**dict.fromkeys(range(1, 256), 112), 65536: 120},
    machine="EM_MIPS", little_endian=True,
)  # fmt: skip
PPC64LE = qemu_platform(
    "ppc64le", ppc64le, "ppc64le",
    "7f454c4602010100000000000000000002001500", "fffffffffffffffcfffffffffffffffffeffff00",
    golden="6f56d6d8ab891c4d118f26526675ea0a1e97e0f01c59a0f50225726c6c416d1a",
    default_size=143,
    overhead={**dict.fromkeys(range(1, 256), 120), 65536: 124},
    machine="EM_PPC64", little_endian=True,
)  # fmt: skip
S390X = qemu_platform(
    "s390x", s390x, "s390x",
    "7f454c4602020100000000000000000000020016", "fffffffffffffffcfffffffffffffffffffeffff",
    golden="9097cd887dc33a574d86de3ba1f6f8a3fef4d47c0981b8b9bea8221dc1644ecc",
    default_size=141,
    overhead={**dict.fromkeys(range(1, 256), 118), 65536: 118},
    machine="EM_S390", little_endian=False,  # big-endian: ident byte 5 is 2
)  # fmt: skip
PLATFORMS = [ARM32, RISCV64, MIPS64LE, PPC64LE, S390X]

each_platform = pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Executor:
    return Executor(tmp_path_factory.mktemp("foreign"))


@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
@pytest.mark.parametrize("via", ["qemu", "binfmt"])
@pytest.mark.parametrize(
    ("platform", "length"),
    [(p, n) for p in PLATFORMS for n in p.run_lengths],
    ids=[f"{p.name}-{n}" for p in PLATFORMS for n in p.run_lengths],
)
def test_prints_exactly_the_message(
    executor: Executor, platform: Platform, length: int, via: str, stdout_to_file: bool
) -> None:
    message = message_of(length)
    result = executor.run(platform.build(message), platform, via=via, stdout_to_file=stdout_to_file)
    assert (result.returncode, result.stdout, result.stderr) == (0, message, b"")


@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
@pytest.mark.parametrize("via", ["qemu", "binfmt"])
@each_platform
def test_default_message(executor: Executor, platform: Platform, via: str, stdout_to_file: bool) -> None:
    result = executor.run(platform.build(DEFAULT), platform, via=via, stdout_to_file=stdout_to_file)
    assert (result.returncode, result.stdout, result.stderr) == (0, DEFAULT, b"")


@each_platform
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=1, max_size=600))
def test_any_binary_message(executor: Executor, platform: Platform, message: bytes) -> None:
    program = platform.build(message)
    assert binfmt_matches(program, platform.magic, platform.mask), program[:20].hex()
    for via in ("qemu", "binfmt"):
        result = executor.run(program, platform, via=via)
        assert (result.returncode, result.stdout, result.stderr) == (0, message, b""), via


@pytest.mark.parametrize("length", MATCH_LENGTHS)
@each_platform
def test_matches_the_qemu_binfmt_registration(platform: Platform, length: int) -> None:
    program = platform.build(message_of(length))
    assert binfmt_matches(program, platform.magic, platform.mask), program[:20].hex()
    ei_class, ei_data = {32: 1, 64: 2}[platform.elfclass], 1 if platform.little_endian else 2
    assert program[:16] == b"\x7fELF" + bytes([ei_class, ei_data, 1]) + bytes(9)  # padding zero
    offset, magic, mask = registration(platform)  # this host's entry; fails without setup.sh
    assert binfmt_matches(program, magic, mask, offset), program[:20].hex()


@each_platform
def test_the_byte_check_is_not_vacuous(platform: Platform) -> None:
    good = platform.build(DEFAULT)
    for offset in (4, 5, 6, 12):  # class, data, version, padding: any change must miss
        changed = good[:offset] + bytes([good[offset] ^ 0x40]) + good[offset + 1 :]
        assert not binfmt_matches(changed, platform.magic, platform.mask), offset
    for offset, value, verdict in platform.byte_edits:
        changed = good[:offset] + bytes([value]) + good[offset + 1 :]
        assert binfmt_matches(changed, platform.magic, platform.mask) is verdict, offset


@each_platform
def test_sizes(platform: Platform) -> None:
    overhead = {n: len(platform.build(b"s" * n)) - n for n in platform.overhead}
    assert overhead == dict(platform.overhead)
    assert len(platform.build(DEFAULT)) == platform.overhead[23] + 23 == platform.default_size
    assert len(platform.build(b"x" * 24)) == platform.overhead[24] + 24


@each_platform
def test_golden_sha256(platform: Platform) -> None:
    assert hashlib.sha256(platform.build(DEFAULT)).hexdigest() == platform.golden


@pytest.mark.parametrize(
    ("platform", "length"),
    [(p, n) for p in PLATFORMS if p.loader_rules for n in p.rule_lengths],
    ids=[f"{p.name}-{n}" for p in PLATFORMS if p.loader_rules for n in p.rule_lengths],
)
def test_loader_rules(platform: Platform, length: int) -> None:
    assert platform.loader_rules is not None
    platform.loader_rules(platform.build(message_of(length)))


@each_platform
def test_pyelftools_reads_the_header(platform: Platform) -> None:
    program = platform.build(DEFAULT)
    elf = parse(program)
    assert elf.elfclass == platform.elfclass
    assert elf.little_endian is platform.little_endian
    header = elf.header
    assert header["e_machine"] == platform.machine
    assert header["e_type"] == "ET_EXEC"
    sizes = {32: (52, 32, 1), 64: (64, 56, 1)}[platform.elfclass]
    assert (header["e_ehsize"], header["e_phentsize"], header["e_phnum"]) == sizes
    for field, value in platform.elf_header.items():
        assert header[field] == value, field
    segment = elf.get_segment(0)
    assert segment["p_type"] == "PT_LOAD"
    for field, value in platform.elf_segment.items():
        assert segment[field] == value, field
    base = segment["p_vaddr"] - segment["p_offset"]  # where file offset 0 is mapped
    assert base >= 0x10000
    assert base <= header["e_entry"] < base + len(program)
    assert segment["p_flags"] & 5 == 5  # PF_R | PF_X
    assert segment["p_filesz"] == segment["p_memsz"]
    assert segment["p_offset"] + segment["p_filesz"] >= len(program)


@each_platform
def test_empty_message_is_a_usage_error(platform: Platform) -> None:
    with pytest.raises(UsageError):
        platform.build(b"")


def test_arm32_disassembly_runs_as_documented() -> None:
    program = ARM32.build(DEFAULT)
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


def test_riscv64_disassembly_runs_as_documented() -> None:
    program = RISCV64.build(DEFAULT)
    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)

    def listing(start: int, end: int) -> list[str]:
        return [f"{i.mnemonic} {i.op_str}".strip() for i in md.disasm(program[start:end], start)]

    assert listing(104, 112) == ["auipc a1, 0", "c.addi a1, 8", "c.j -0x1e"]
    assert listing(80, 90) == ["lui a2, 0", "addi a2, a2, 0x17", "c.j -0x30"]
    assert listing(40, 52) == ["c.li a0, 1", "addi a7, zero, 0x40", "ecall", "c.j 0xa"]
    assert listing(60, 68) == ["c.addi a7, 0x1d", "c.li a0, 0", "ecall"]
