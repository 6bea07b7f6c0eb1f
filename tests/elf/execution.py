"""Run a generated ELF for real: natively for 386/amd64, under qemu-aarch64-static for arm64.

qemu is called explicitly (not through binfmt_misc) so the tests do not depend on how the host
is configured. A missing runner is a failure, not a skip: the suite exists to execute.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagegolf.platform import Platform

NORMAL_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
QEMU = "qemu-aarch64-static"


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

    def run(
        self,
        program: bytes,
        platform: Platform,
        args: Sequence[bytes | str] = (),
        *,
        env: Mapping[str, str] | None = None,
        stdout_to_file: bool = False,
    ) -> Result:
        path = self._directory / f"prog{next(self._counter)}"
        path.write_bytes(program)
        path.chmod(0o755)
        command: list[str | bytes] = [str(path), *args]
        if platform.architecture == "arm64":
            qemu = shutil.which(QEMU)
            if qemu is None:
                pytest.fail(f"{QEMU} is not installed: run `apt-get install qemu-user-static`")
            command = [qemu, *command]
        environment = dict(env) if env is not None else {}
        try:
            if stdout_to_file:
                out_path = path.with_suffix(".out")
                with out_path.open("wb") as out:
                    done = subprocess.run(
                        command, stdout=out, stderr=subprocess.PIPE, env=environment, timeout=20
                    )
                stdout = out_path.read_bytes()
                out_path.unlink()
            else:
                done = subprocess.run(command, capture_output=True, env=environment, timeout=20)
                stdout = done.stdout
        except OSError as error:  # ENOEXEC: e.g. a kernel booted with ia32_emulation=0
            pytest.fail(f"the kernel refused to execute the {platform} program: {error}")
        path.unlink()
        return Result(done.returncode, stdout, done.stderr)


def param_id(value: object) -> str:
    """Readable pytest ids: platforms as linux/386, messages by their length."""
    return f"{len(value)}B" if isinstance(value, bytes) else str(value)
