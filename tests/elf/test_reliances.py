"""Every x86 layout executed, with what it relies on kept, then broken (elf/reliance.py).

Kept: stdin as /dev/null, a pipe, a pty and closed; the argc and message the image gives it.
Broken, one at a time: a terminal read from the background (StdinZeroRead), an RLIMIT_AS below
the segment (AddressSpace), another argc (ArgCount), a message outside the condition
(MessageLength, MessageWord), the exit status (NonZeroExit), qemu-user as the loader
(FailsUnder). gVisor's refusals are checked on its loader rules in test_profiles.py; arm64 and
the other platforms run under qemu in test_execute.py and test_foreign_platforms.py.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.elf.execution import NORMAL_ENV, STDIN_KINDS, Runner

from imagegolf.elf import Mode, catalog, x86_64_dyn
from imagegolf.elf.anatomy import dissect
from imagegolf.elf.reliance import (
    AddressSpace,
    ArgCount,
    FailsUnder,
    Loader,
    MessageLength,
    NonZeroExit,
    StdinZeroRead,
)
from imagegolf.platform import LINUX_386, LINUX_AMD64, Platform

RECORD = b"Hi IDBS Engineering! RE\n"
NATIVE = [layout for layout in catalog.LAYOUTS if layout.architecture in ("386", "amd64")]
SIGTTIN = f"stopped by signal {signal.SIGTTIN}"
GIB = 1 << 30
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def relying_on(kind: type, **match: object) -> list[catalog.Layout]:
    return [
        layout
        for layout in NATIVE
        if any(
            isinstance(r, kind) and all(getattr(r, k) == v for k, v in match.items())
            for r in layout.relies_on
        )
    ]


def platform_of(layout: catalog.Layout) -> Platform:
    return LINUX_386 if layout.architecture == "386" else LINUX_AMD64


def status(layout: catalog.Layout, message: bytes) -> int:
    """The exit status the layout gives: 0, or LEN mod 256 where it relies on NonZeroExit."""
    return len(message) % 256 if any(isinstance(r, NonZeroExit) for r in layout.relies_on) else 0


def execute(
    runner: Runner, layout: catalog.Layout, message: bytes, **options: object
) -> tuple[int, bytes]:
    args = [message] if layout.mode is Mode.ARGV else []
    result = runner.run(layout.build(message), platform_of(layout), args, **options)  # type: ignore[arg-type]
    return result.returncode, result.stdout


each_layout = pytest.mark.parametrize("layout", NATIVE, ids=lambda layout: layout.name)


@each_layout
@pytest.mark.parametrize("stdin", STDIN_KINDS)
def test_every_layout_runs_with_any_stdin(runner: Runner, layout: catalog.Layout, stdin: str) -> None:
    assert execute(runner, layout, RECORD, stdin=stdin) == (status(layout, RECORD), RECORD)


@each_layout
@pytest.mark.parametrize("length", [1, 7, 8, 9, 16, 17, 23, 24, 31, 64, 255, 256, 4096, 65536])
def test_every_length_the_conditions_allow(runner: Runner, layout: catalog.Layout, length: int) -> None:
    message = bytes((i * 7 + 3) % 256 or 1 for i in range(length))  # no NUL: argv carries it too
    if layout.broken_by(message):
        return
    options = {"env": NORMAL_ENV} if layout.mode is Mode.ARGV else {}
    assert execute(runner, layout, message, stdin="devnull", **options) == (status(layout, message), message)


ANY_BYTES = [catalog.layout(n) for n in ("amd64/embed/split", "amd64/embed/gvisor", "386/embed/any-exit")]


@pytest.mark.parametrize("layout", ANY_BYTES, ids=lambda layout: layout.name)
def test_any_bytes(runner: Runner, layout: catalog.Layout) -> None:
    @SETTINGS
    @given(message=st.binary(min_size=1, max_size=300))
    def check(message: bytes) -> None:
        if layout.broken_by(message):
            return
        assert execute(runner, layout, message, stdin="devnull") == (status(layout, message), message)

    check()


# StdinZeroRead: read(0, NULL, 0) returns whatever fd 0 is; a background terminal stops it.
@pytest.mark.parametrize("layout", relying_on(StdinZeroRead), ids=lambda layout: layout.name)
def test_a_background_terminal_stops_the_stdin_read(runner: Runner, layout: catalog.Layout) -> None:
    assert runner.run_in_background_of_a_terminal(layout.build(RECORD)) == SIGTTIN


@pytest.mark.parametrize("name", ["386/embed/teensy", "386/embed/any-exit", "amd64/embed/teensy"])
def test_layouts_without_the_stdin_trick_ignore_the_terminal(runner: Runner, name: str) -> None:
    layout = catalog.layout(name)
    assert runner.run_in_background_of_a_terminal(layout.build(RECORD)) == f"exited {status(layout, RECORD)}"


# AddressSpace: p_memsz counts against RLIMIT_AS (`ulimit -v`).
@pytest.mark.parametrize("layout", relying_on(AddressSpace), ids=lambda layout: layout.name)
def test_an_address_space_limit_below_the_segment_kills_it(runner: Runner, layout: catalog.Layout) -> None:
    [space] = [r for r in layout.relies_on if isinstance(r, AddressSpace)]
    below = execute(runner, layout, RECORD, stdin="devnull", address_space=space.size // 2)
    assert below == (-signal.SIGSEGV, b"")
    enough = execute(runner, layout, RECORD, stdin="devnull", address_space=space.size + GIB // 4)
    assert enough == (status(layout, RECORD), RECORD)


@pytest.mark.parametrize("name", ["amd64/embed/teensy", "amd64/argv/teensy"])
def test_layouts_without_the_reliance_run_under_a_small_limit(runner: Runner, name: str) -> None:
    layout = catalog.layout(name)
    assert execute(runner, layout, RECORD, stdin="devnull", address_space=64 << 20) == (0, RECORD)


@pytest.mark.parametrize("layout", catalog.LAYOUTS, ids=lambda layout: layout.name)
def test_the_declared_address_space_covers_p_memsz(layout: catalog.Layout) -> None:
    declared = [r.size for r in layout.relies_on if isinstance(r, AddressSpace)]
    for length in (1, 24, 255, 256, 70000):
        message = bytes(range(65, 91)) * (length // 26) + bytes(range(65, 65 + length % 26))
        if layout.broken_by(message):
            continue
        [segment] = dissect(layout.build(message)).loads
        if segment.memsz > 64 << 20:  # what a layout must declare: more than 64 MiB
            assert declared and declared[0] >= segment.memsz, length
        if declared:
            assert declared[0] < 2 * segment.memsz + (1 << 20), length  # and not wildly more


# ArgCount
@pytest.mark.parametrize("layout", relying_on(ArgCount, minimum=1, maximum=1), ids=lambda layout: layout.name)
def test_a_second_argument_sends_the_message_to_stderr(runner: Runner, layout: catalog.Layout) -> None:
    result = runner.run(layout.build(RECORD), LINUX_AMD64, [b"extra"], stdin="devnull")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", RECORD)


@pytest.mark.parametrize("layout", relying_on(ArgCount, minimum=2), ids=lambda layout: layout.name)
def test_argv_layouts_need_argv1(runner: Runner, layout: catalog.Layout) -> None:
    result = runner.run(layout.build(RECORD), platform_of(layout), [], stdin="devnull")
    assert result.returncode < 0 and result.stdout == b""  # argv[1] is NULL: a fault


def test_the_gvisor_argv_exit_needs_exactly_two_arguments(runner: Runner) -> None:
    layout = catalog.layout("amd64/argv/gvisor")
    runs = [runner.run(layout.build(RECORD), LINUX_AMD64, [RECORD, b"x"], stdin="devnull") for _ in range(3)]
    assert all(r.stdout == RECORD for r in runs)
    assert any(r.returncode != 0 for r in runs)  # the status is argv[2]'s address mod 256


# MessageLength and MessageWord: bytes built past the builder's check, run to show why it checks.
def test_the_masked_exit_fails_for_a_length_with_bit_5_set(runner: Runner) -> None:
    layout = catalog.layout("386/argv/masked")
    message = b"x" * 32
    assert [type(r) for r in layout.broken_by(message)] == [MessageLength]
    result = runner.run(layout.build(message), LINUX_386, [message], stdin="devnull")
    assert result.stdout == message and result.returncode != 0


def test_the_gvisor_argv_exit_fails_past_255_bytes(runner: Runner) -> None:
    layout = catalog.layout("amd64/argv/gvisor")
    message = b"x" * 300
    assert [type(r) for r in layout.broken_by(message)] == [MessageLength]
    result = runner.run(layout.build(message), LINUX_AMD64, [message], stdin="devnull")
    assert result.stdout == message and result.returncode != 0


def test_a_p_align_of_2_to_the_47_stops_the_split_layout_from_loading(runner: Runner) -> None:
    program = bytearray(x86_64_dyn.embed_split(RECORD))
    program[0x3C:0x44] = (1 << 47).to_bytes(8, "little")  # what message bytes 8..15 would be
    result = runner.run(bytes(program), LINUX_AMD64, stdin="devnull")
    assert (result.returncode, result.stdout) == (-signal.SIGSEGV, b"")


# NonZeroExit
@pytest.mark.parametrize("layout", relying_on(NonZeroExit), ids=lambda layout: layout.name)
@pytest.mark.parametrize("length", [1, 24, 255, 256, 300])
def test_any_exit_layouts_exit_with_the_length(runner: Runner, layout: catalog.Layout, length: int) -> None:
    message = b"y" * length
    assert execute(runner, layout, message, stdin="devnull") == (length % 256, message)


# FailsUnder(QEMU_USER): qemu's loader refuses the file, so no engine runs it on a non-x86 host.
REFUSED_BY_QEMU = relying_on(FailsUnder, loader=Loader.QEMU_USER)


@pytest.mark.parametrize("layout", REFUSED_BY_QEMU, ids=lambda layout: layout.name)
def test_qemu_user_does_not_run_the_x86_layouts(layout: catalog.Layout, tmp_path: object) -> None:
    qemu = shutil.which("qemu-i386-static" if layout.architecture == "386" else "qemu-x86_64-static")
    if qemu is None:
        pytest.fail("qemu-user-static is not installed: run scripts/setup.sh")
    path = tmp_path / "prog"  # type: ignore[operator]
    path.write_bytes(layout.build(RECORD))
    path.chmod(0o755)
    args = [RECORD] if layout.mode is Mode.ARGV else []
    done = subprocess.run([qemu, str(path), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=20)
    assert done.returncode != 0 and done.stdout != RECORD
