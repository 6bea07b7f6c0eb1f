"""imagegolf.processes.pids_where: the one reader of /proc command lines (the podman service's
stragglers, a runsc container's leftover shim)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from imagegolf.processes import pids_where


def _fake_proc(root: Path, entries: dict[str, bytes]) -> str:
    for name, cmdline in entries.items():
        (root / name).mkdir()
        (root / name / "cmdline").write_bytes(cmdline)
    return str(root)


def test_it_reads_argv_and_skips_what_is_not_a_process(tmp_path: Path) -> None:
    proc = _fake_proc(
        tmp_path,
        {
            "10": b"/usr/bin/containerd-shim-runc-v2\0-id\0abc\0",
            "11": b"podman\0--root\0/tmp/x/root\0",
            "self": b"containerd-shim-runc-v2\0abc\0",  # not a pid
            str(os.getpid()): b"containerd-shim-runc-v2\0abc\0",  # this process is never listed
        },
    )
    (tmp_path / "12").mkdir()  # exited between listdir and open: no cmdline
    assert pids_where(lambda argv: b"abc" in argv, proc) == [10]
    assert pids_where(lambda argv: any(b"/tmp/x" in a for a in argv), proc) == [11]
    assert pids_where(lambda argv: argv[0] == b"", proc) == []


def test_it_finds_a_real_process_by_its_command_line() -> None:
    marker = f"imagegolf-pids-where-{os.getpid()}"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker])
    try:
        # Until the child has exec'd, /proc/PID/cmdline is still this process's: wait for it.
        deadline = time.monotonic() + 10
        while not (found := pids_where(lambda argv: marker.encode() in argv)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert found == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert pids_where(lambda argv: marker.encode() in argv) == []
