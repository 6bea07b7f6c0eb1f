"""ppc64le: every program executed under qemu-ppc64le-static and through binfmt_misc.

See tests/elf/foreign.py: stdout as a pipe and as a file must be exactly the message, the
exit status 0; the first 20 bytes must pass qemu-ppc64le's binfmt_misc match.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.foreign import (
    DEFAULT,
    LENGTHS,
    Arch,
    Executor,
    binfmt_matches,
    message_of,
    parse,
    registration,
)

from imagegolf.elf import ppc64le
from imagegolf.errors import UsageError

ARCH = Arch(
    "ppc64le",
    ppc64le.build_embed,
    "EM_PPC64",
    True,
    bytes.fromhex("7f454c4602010100000000000000000002001500"),
    bytes.fromhex("fffffffffffffffcfffffffffffffffffeffff00"),
)
OVERHEAD = 120  # file bytes besides a 1-255-byte message
# sha256 of the program for DEFAULT (23 bytes)
GOLDEN = "6f56d6d8ab891c4d118f26526675ea0a1e97e0f01c59a0f50225726c6c416d1a"


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Executor:
    return Executor(tmp_path_factory.mktemp("ppc64le"))


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("via", ["qemu", "binfmt"])
@pytest.mark.parametrize("stdout_to_file", [False, True], ids=["pipe", "file"])
def test_prints_the_message(executor: Executor, length: int, via: str, stdout_to_file: bool) -> None:
    message = DEFAULT if length == len(DEFAULT) else message_of(length)
    result = executor.run(ppc64le.build_embed(message), ARCH, via=via, stdout_to_file=stdout_to_file)
    assert (result.returncode, result.stdout, result.stderr) == (0, message, b"")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=1, max_size=300))
def test_any_message_runs(executor: Executor, message: bytes) -> None:
    program = ppc64le.build_embed(message)
    for via in ("qemu", "binfmt"):
        result = executor.run(program, ARCH, via=via)
        assert (result.returncode, result.stdout) == (0, message), via


@pytest.mark.parametrize("length", [1, 2, 23, 24, 255, 256, 65535, 65536, 1 << 20])
def test_matches_qemu_binfmt_registration(length: int) -> None:
    program = ppc64le.build_embed(message_of(length))
    assert binfmt_matches(program, ARCH.magic, ARCH.mask), program[:20].hex()
    offset, magic, mask = registration(ARCH)  # this host's entry; fails without setup.sh
    assert binfmt_matches(program, magic, mask, offset), program[:20].hex()
    assert program[8:16] == bytes(8)  # e_ident padding zero


def test_the_byte_check_is_not_vacuous() -> None:
    good = ppc64le.build_embed(DEFAULT)
    for offset in (4, 5, 6, 12):
        changed = good[:offset] + bytes([good[offset] ^ 0x40]) + good[offset + 1 :]
        assert not binfmt_matches(changed, ARCH.magic, ARCH.mask), offset


def test_pyelftools_reads_the_header() -> None:
    program = ppc64le.build_embed(DEFAULT)
    elf = parse(program)
    assert elf.elfclass == 64
    assert elf.little_endian is ARCH.little_endian
    assert elf.header["e_machine"] == ARCH.machine
    assert elf.header["e_type"] == "ET_EXEC"
    assert elf.header["e_ehsize"] == 64
    assert elf.header["e_phentsize"] == 56
    assert elf.header["e_phnum"] == 1
    segment = elf.get_segment(0)
    assert segment["p_type"] == "PT_LOAD"
    assert segment["p_offset"] == 0
    assert segment["p_vaddr"] >= 0x10000
    assert segment["p_vaddr"] <= elf.header["e_entry"] < segment["p_vaddr"] + len(program)
    assert segment["p_flags"] & 5 == 5  # PF_R | PF_X
    assert segment["p_filesz"] == segment["p_memsz"] >= len(program)


def test_golden_sha256() -> None:
    assert hashlib.sha256(ppc64le.build_embed(DEFAULT)).hexdigest() == GOLDEN


def test_sizes() -> None:
    assert len(ppc64le.build_embed(DEFAULT)) == OVERHEAD + 23 == 143
    assert len(ppc64le.build_embed(b"x" * 24)) == OVERHEAD + 24
    assert {len(ppc64le.build_embed(b"s" * n)) - n for n in range(1, 256)} == {OVERHEAD}
    assert len(ppc64le.build_embed(b"s" * 65536)) - 65536 == 124


def test_empty_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        ppc64le.build_embed(b"")
