"""Run a generated ELF for real: natively for 386/amd64, under qemu-aarch64-static for arm64.

qemu is called explicitly (not through binfmt_misc) so the tests do not depend on how the host
is configured. A missing runner is a failure, not a skip: the suite exists to execute.

A run can be given the conditions a layout relies on, or breaks them (elf/reliance.py): stdin
as /dev/null, a pipe, a pty or closed; an RLIMIT_AS (`ulimit -v`); any argv.
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagegolf.platform import Platform

NORMAL_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
QEMU = "qemu-aarch64-static"
STDIN_KINDS = ("devnull", "pipe", "pty", "closed")  # what the stdin of a run can be


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes


class Runner:
    """Writes each program to its own file (mode 755) and executes it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._counter = itertools.count()

    def write(self, program: bytes) -> Path:
        path = self._directory / f"prog{next(self._counter)}"
        path.write_bytes(program)
        path.chmod(0o755)
        return path

    def run(
        self,
        program: bytes,
        platform: Platform,
        args: Sequence[bytes | str] = (),
        *,
        env: Mapping[str, str] | None = None,
        stdout_to_file: bool = False,
        stdin: str | None = None,
        address_space: int | None = None,
    ) -> Result:
        """Run ``program``; ``stdin`` is one of STDIN_KINDS (None: inherited), ``address_space``
        an RLIMIT_AS in bytes."""
        path = self.write(program)
        command: list[str | bytes] = [str(path), *args]
        if platform.architecture == "arm64":
            qemu = shutil.which(QEMU)
            if qemu is None:
                pytest.fail(f"{QEMU} is not installed: run `apt-get install qemu-user-static`")
            command = [qemu, *command]
        environment = dict(env) if env is not None else {}
        opened: list[int] = []
        stdin_arg, setup = _stdin(stdin, opened)
        limit = _limit_address_space(address_space) if address_space is not None else None
        preexec = _chain(setup, limit)
        try:
            if stdout_to_file:
                out_path = path.with_suffix(".out")
                with out_path.open("wb") as out:
                    done = subprocess.run(
                        command, stdin=stdin_arg, stdout=out, stderr=subprocess.PIPE, env=environment,
                        timeout=20, preexec_fn=preexec,
                    )  # fmt: skip
                stdout = out_path.read_bytes()
                out_path.unlink()
            else:
                done = subprocess.run(
                    command, stdin=stdin_arg, capture_output=True, env=environment, timeout=20,
                    preexec_fn=preexec,
                )  # fmt: skip
                stdout = done.stdout
        except OSError as error:  # ENOEXEC: e.g. a kernel booted with ia32_emulation=0
            pytest.fail(f"the kernel refused to execute the {platform} program: {error}")
        finally:
            for fd in opened:
                os.close(fd)
        path.unlink()
        return Result(done.returncode, stdout, done.stderr)

    def run_in_background_of_a_terminal(self, program: bytes) -> str:
        """Start ``program`` with a terminal as stdin and controlling tty, in a background
        process group of it; what happened to it: "stopped by signal N" or "exited N"."""
        path = self.write(program)
        done = subprocess.run(
            [sys.executable, "-c", _BACKGROUND, str(path)], capture_output=True, text=True, timeout=30
        )
        path.unlink()
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _stdin(kind: str | None, opened: list[int]) -> tuple[int | None, Callable[[], None] | None]:
    """The ``stdin`` argument of subprocess.run, and what the child does before exec."""
    if kind is None:
        return None, None
    if kind == "devnull":
        return subprocess.DEVNULL, None
    if kind == "pipe":
        read_end, write_end = os.pipe()  # the writer stays open and silent: a read would wait
        opened += [read_end, write_end]
        return read_end, None
    if kind == "pty":
        controller, terminal = os.openpty()
        opened += [controller, terminal]
        return terminal, None
    if kind == "closed":
        return subprocess.DEVNULL, lambda: os.close(0)
    raise ValueError(f"stdin kind {kind!r}: use one of {STDIN_KINDS}")


def _limit_address_space(limit: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _chain(*steps: Callable[[], None] | None) -> Callable[[], None] | None:
    actions = [s for s in steps if s is not None]
    if not actions:
        return None

    def run_all() -> None:
        for action in actions:
            action()

    return run_all


# A session leader owns a new pty; its child runs the program in a process group of its own,
# so the terminal's foreground group is the leader's: a read of the terminal raises SIGTTIN.
_BACKGROUND = r"""
import fcntl, os, signal, sys, termios, time
controller, terminal = os.openpty()
leader = os.fork()
if leader == 0:
    os.setsid()
    fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        os.dup2(terminal, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execv(sys.argv[1], [sys.argv[1]])
    os.setpgid(child, child)
    for _ in range(100):
        pid, status = os.waitpid(child, os.WUNTRACED | os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        print("still running after 5 s")
        os._exit(0)
    if os.WIFSTOPPED(status):
        print(f"stopped by signal {os.WSTOPSIG(status)}")
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    elif os.WIFSIGNALED(status):
        print(f"killed by signal {os.WTERMSIG(status)}")
    else:
        print(f"exited {os.WEXITSTATUS(status)}")
    os._exit(0)
os.waitpid(leader, 0)
"""


def param_id(value: object) -> str:
    """Readable pytest ids: platforms as linux/386, messages by their length."""
    return f"{len(value)}B" if isinstance(value, bytes) else str(value)
