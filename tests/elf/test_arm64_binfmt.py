"""arm64 files must pass binfmt_misc's match: podman, docker and containerd run foreign images
that way, and a file that does not match never reaches qemu ("exec format error").

Two kinds of checks: a pure byte check of every arm64 output against the qemu-aarch64 magic and
mask (the values of Debian's qemu-user-static, tonistiigi/binfmt and qemu-binfmt-conf.sh, and of
this host's registration when it has one), and execution through the kernel's binfmt_misc path:
the file itself is exec'd, not `qemu-aarch64-static FILE` (test_execute.py does that). A host
without the registration fails the second kind: run `scripts/setup.sh`.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.execution import NORMAL_ENV, param_id

from imagegolf.elf import Mode, build_program
from imagegolf.platform import LINUX_ARM64

QEMU_AARCH64_MAGIC = bytes.fromhex("7f454c460201010000000000000000000200b700")
QEMU_AARCH64_MASK = bytes.fromhex("ffffffffffffff00fffffffffffffffffeffffff")
BINFMT = Path("/proc/sys/fs/binfmt_misc")
ENTRY = BINFMT / "qemu-aarch64"
SETUP_HINT = "run `scripts/setup.sh` (as root) to register qemu-aarch64 with binfmt_misc"

RECORD = b"Hi IDBS Engineering! RE\n"
DEFAULT = b"hello IDBS engineering\n"
TRICKY = b"\0line one\nline two\r\n\xff\xfe caf\xc3\xa9 \xe2\x82\xac\0"
LENGTHS = [1, 2, 7, 8, 23, 24, 255, 256, 4095, 4096, 65535, 65536, 65537, 1 << 20]

BYTE_SETTINGS = settings(max_examples=200, deadline=None)
RUN_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EMBED_MESSAGES = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.integers(min_value=65530, max_value=65540).map(lambda n: bytes(i % 253 for i in range(n))),
)
ARGV_MESSAGES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\0"),
    min_size=1,
    max_size=200,
).map(str.encode)


def binfmt_matches(data: bytes, magic: bytes, mask: bytes, offset: int = 0) -> bool:
    """binfmt_misc's test (fs/binfmt_misc.c, check_file): every masked byte equals the magic's."""
    window = data[offset : offset + len(magic)]
    if len(window) < len(magic):  # the kernel's buffer is zero-filled past EOF
        window += bytes(len(magic) - len(window))
    return all((byte ^ want) & bits == 0 for byte, want, bits in zip(window, magic, mask, strict=True))


def registration(path: Path) -> tuple[bool, int, bytes, bytes]:
    """(enabled, offset, magic, mask) of one /proc/sys/fs/binfmt_misc entry."""
    lines = path.read_text().splitlines()
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    return (
        lines[0] == "enabled",
        int(fields.get("offset", "0")),
        bytes.fromhex(fields["magic"]),
        bytes.fromhex(fields.get("mask", "ff" * len(bytes.fromhex(fields["magic"])))),
    )


def masks() -> list[tuple[str, int, bytes, bytes]]:
    """The published qemu-aarch64 match, and this host's registration if it has a different one."""
    found = [("qemu-user-static", 0, QEMU_AARCH64_MAGIC, QEMU_AARCH64_MASK)]
    try:
        _, offset, magic, mask = registration(ENTRY)
    except (OSError, KeyError, ValueError, IndexError):
        return found
    if (offset, magic, mask) != (0, QEMU_AARCH64_MAGIC, QEMU_AARCH64_MASK):
        found.append(("this host", offset, magic, mask))
    return found


MASKS = masks()


def programs() -> list[tuple[Mode, bytes]]:
    cases = [(Mode.EMBED, bytes((i * 7 + 3) % 256 for i in range(n))) for n in LENGTHS]
    cases += [(Mode.EMBED, m) for m in (RECORD, DEFAULT, TRICKY, b"\0" * 16, b"\xff" * 300)]
    return [*cases, (Mode.ARGV, RECORD)]


def assert_matches(program: bytes) -> None:
    for name, offset, magic, mask in MASKS:
        head = program[offset : offset + len(magic)].hex()
        assert binfmt_matches(program, magic, mask, offset), f"{name}: first bytes {head}"


# -- the byte check -------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "message"), programs(), ids=param_id)
def test_every_arm64_program_matches_qemu_aarch64(mode: Mode, message: bytes) -> None:
    assert_matches(build_program(message, LINUX_ARM64, mode))


def test_argv_layout_matches_qemu_aarch64() -> None:
    program = build_program(b"any", LINUX_ARM64, Mode.ARGV)
    assert program[8:16] == bytes(8)  # e_ident padding: the argv layout never used it
    assert_matches(program)


def test_embed_keeps_e_ident_conventional() -> None:
    for length in (1, 24, 65535, 65536):
        program = build_program(b"m" * length, LINUX_ARM64)
        assert program[:16] == b"\x7fELF\x02\x01\x01" + bytes(9), length
        assert program[16:20] == b"\x02\x00\xb7\x00", length


@BYTE_SETTINGS
@given(message=EMBED_MESSAGES)
def test_any_embed_program_matches_qemu_aarch64(message: bytes) -> None:
    assert_matches(build_program(message, LINUX_ARM64))


@BYTE_SETTINGS
@given(message=ARGV_MESSAGES)
def test_any_argv_program_matches_qemu_aarch64(message: bytes) -> None:
    assert_matches(build_program(message, LINUX_ARM64, Mode.ARGV))


def test_the_byte_check_is_not_vacuous() -> None:
    good = build_program(RECORD, LINUX_ARM64)
    assert binfmt_matches(good, QEMU_AARCH64_MAGIC, QEMU_AARCH64_MASK)
    old_layout = good[:8] + (24).to_bytes(4, "little") + (64).to_bytes(4, "little") + good[16:]
    assert not binfmt_matches(old_layout, QEMU_AARCH64_MAGIC, QEMU_AARCH64_MASK)  # the bug
    for offset, value, verdict in [
        (7, 0x03, True),  # EI_OSABI: masked out
        (16, 0x03, True),  # e_type ET_DYN: the mask's 0xfe lets it through
        (16, 0x04, False),  # ET_CORE
        (4, 0x01, False),  # ELFCLASS32
        (15, 0x01, False),  # the last padding byte
        (18, 0x3E, False),  # EM_X86_64
    ]:
        changed = good[:offset] + bytes([value]) + good[offset + 1 :]
        assert binfmt_matches(changed, QEMU_AARCH64_MAGIC, QEMU_AARCH64_MASK) is verdict, offset


def test_arm64_sizes_around_the_mov_limit() -> None:
    sizes = {n: len(build_program(b"s" * n, LINUX_ARM64)) - n for n in (1, 255, 256, 65535, 65536, 1 << 20)}
    assert sizes == {1: 112, 255: 112, 256: 112, 65535: 112, 65536: 116, 1 << 20: 116}


# -- execution through binfmt_misc ---------------------------------------------------------


class BinfmtRunner:
    """Execs each program file directly: the kernel picks qemu through binfmt_misc."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._counter = itertools.count()

    def run(
        self, program: bytes, args: Sequence[bytes] = (), *, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        require_binfmt()
        path = self._directory / f"prog{next(self._counter)}"
        path.write_bytes(program)
        path.chmod(0o755)
        try:
            done = subprocess.run([path, *args], capture_output=True, env=env or {}, timeout=20)
        except OSError as error:  # ENOEXEC: the first bytes did not match any registration
            head = program[:20].hex()
            pytest.fail(f"the kernel refused the arm64 program ({error}); first 20 bytes {head}")
        path.unlink()
        return done


def require_binfmt() -> None:
    """Fail (not skip) unless qemu-aarch64 is registered and enabled: the suite must execute."""
    status = BINFMT / "status"
    if not status.exists():
        pytest.fail(f"binfmt_misc is not mounted at {BINFMT}: {SETUP_HINT}")
    if status.read_text().strip() != "enabled":
        pytest.fail(f"binfmt_misc is disabled ({status}): {SETUP_HINT}")
    if not ENTRY.exists():
        pytest.fail(f"{ENTRY} does not exist: {SETUP_HINT}")
    enabled, _, _, _ = registration(ENTRY)
    if not enabled:
        pytest.fail(f"{ENTRY} is disabled: {SETUP_HINT}")


@pytest.fixture(scope="module")
def binfmt(tmp_path_factory: pytest.TempPathFactory) -> BinfmtRunner:
    return BinfmtRunner(tmp_path_factory.mktemp("binfmt-programs"))


@pytest.mark.parametrize(
    "message",
    [RECORD, DEFAULT, TRICKY, b"!", b"\0" * 16, *(bytes(i % 251 for i in range(n)) for n in (65535, 65536))],
    ids=param_id,
)
@pytest.mark.parametrize("env", [{}, NORMAL_ENV], ids=["no-env", "env"])
def test_embed_runs_through_binfmt(binfmt: BinfmtRunner, message: bytes, env: dict[str, str]) -> None:
    done = binfmt.run(build_program(message, LINUX_ARM64), env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, message, b"")


@pytest.mark.parametrize("message", [RECORD, b"x", "h\u00e9llo \u20ac \U0001f600".encode()], ids=param_id)
@pytest.mark.parametrize("env", [{}, NORMAL_ENV], ids=["no-env", "env"])
def test_argv_runs_through_binfmt(binfmt: BinfmtRunner, message: bytes, env: dict[str, str]) -> None:
    done = binfmt.run(build_program(message, LINUX_ARM64, Mode.ARGV), [message, b"ignored"], env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, message, b"")


@RUN_SETTINGS
@given(message=EMBED_MESSAGES)
def test_any_embed_program_runs_through_binfmt(binfmt: BinfmtRunner, message: bytes) -> None:
    done = binfmt.run(build_program(message, LINUX_ARM64))
    assert (done.returncode, done.stdout) == (0, message)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({}, "not mounted"),
        ({"status": "disabled\n"}, "disabled"),
        ({"status": "enabled\n"}, "does not exist"),
        ({"status": "enabled\n", "qemu-aarch64": "disabled\nflags: PF\noffset 0\nmagic 7f\n"}, "disabled"),
    ],
)
def test_a_host_without_the_registration_fails_with_the_setup_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], problem: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "BINFMT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "ENTRY", tmp_path / "qemu-aarch64")
    with pytest.raises(pytest.fail.Exception, match=problem) as failed:
        require_binfmt()
    assert "scripts/setup.sh" in str(failed.value)
