"""imagegolf commands run as processes of their own, as an organiser runs them (`contest registry`,
`contest watch --serve`): started with a log file each, checked while a test waits, stopped with
SIGINT (Ctrl-C) and their logs' tails printed (pytest shows them for a failed test)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from imagegolf.processes import LOOPBACK

IMAGEGOLF = [sys.executable, "-m", "imagegolf.cli"]
TIMEOUT_S = 120


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"process-{len(self.started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([*IMAGEGOLF, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        self.started.append((proc, log))
        return proc

    def running(self) -> bool:
        """True while every process runs; one that ended fails the test at once, with its log."""
        for proc, log in self.started:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise AssertionError(f"{log.name} ended ({proc.returncode}): {tail}")
        return True

    def stop(self) -> None:
        for proc, log in reversed(self.started):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
        self.started.clear()


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT_S) -> Any:
    """``check()``'s first truthy answer; a connection error or a half-written answer is a no."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (OSError, httpx.HTTPError, ValueError):
            found = None
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")
