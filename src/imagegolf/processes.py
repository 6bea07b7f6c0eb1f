"""The local processes imagegolf starts itself (a registry, a podman service): ports, stopping,
and finding what they left running."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pids_where(argv_matches: Callable[[list[bytes]], bool], proc: str = "/proc") -> list[int]:
    """Processes other than this one whose command line (argv, as /proc/PID/cmdline holds it)
    ``argv_matches``; one that exits, or may not be read, while the list is made is left out."""
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"{proc}/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue
        if argv_matches(argv):
            found.append(int(entry))
    return found
