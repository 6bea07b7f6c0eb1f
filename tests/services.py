"""Real services the tests start themselves on private unix sockets, and stop afterwards.

Each raises (so the test fails, never skips) when the program is missing: CI must have it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from imagegolf import processes
from imagegolf.engine.runtimes import docker_runtimes

SETUP = "run `scripts/setup.sh`"


def require(program: str) -> str:
    path = shutil.which(program)
    if not path:
        raise RuntimeError(f"{program} is not installed: {SETUP}")
    return path


def _wait_for_socket(path: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"service did not open {path}: {log.read_text(errors='replace')[-2000:]}")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds (daemons get 20 s)."""
    processes.stop_process(proc, timeout)


class Dockerd:
    """A real Docker Engine (Debian docker.io, classic overlay2 store) with its own roots."""

    def __init__(self, runtimes: dict[str, object] | None = None) -> None:
        self.binary = require("dockerd")
        self.dir = tempfile.mkdtemp(prefix="igd-", dir="/tmp")  # short: socket paths are capped
        self.runtimes = runtimes or {}  # more daemon.json runtimes (bench/runtimes.py: runsc's platforms)
        self.socket = os.path.join(self.dir, "docker.sock")
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Dockerd:
        log = Path(self.dir, "dockerd.log")
        # Its own daemon.json (never the host's): runsc as a runtime when it is installed, with the
        # flags imagegolf's sandbox needs (engine/runtimes.py); tests that need it require runsc.
        runsc = shutil.which("runsc")
        config = Path(self.dir, "daemon.json")
        runtimes = {**(docker_runtimes(runsc) if runsc else {}), **self.runtimes}
        config.write_text(json.dumps({"runtimes": runtimes} if runtimes else {}))
        cmd = [
            self.binary,
            f"--config-file={config}",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            f"--data-root={self.dir}/root",
            f"--exec-root={self.dir}/exec",
            f"--pidfile={self.dir}/docker.pid",
            f"--host={self.url}",
            "--containerd-namespace=imagegolf-test",
            "--containerd-plugins-namespace=imagegolf-test-p",
        ]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_socket(self.socket, self.proc, log, 60)
        deadline = time.monotonic() + 60
        while self.docker("version", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd not answering: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        return self

    def docker(
        self, *args: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        client = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else require("docker")
        return subprocess.run(
            [client, "-H", self.url, *args], capture_output=True, check=check, input=input, timeout=300
        )

    def stop(self) -> None:
        stop_process(self.proc)
        subprocess.run(["umount", "-R", f"{self.dir}/root"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Containerd:
    """A real containerd (Debian containerd) with its own root, state and socket; `ctr` talks to it."""

    def __init__(self) -> None:
        self.binary = require("containerd")
        self.ctr_binary = require("ctr")
        self.dir = tempfile.mkdtemp(prefix="igc-", dir="/tmp")
        self.socket = os.path.join(self.dir, "c.sock")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Containerd:
        config = Path(self.dir, "config.toml")
        config.write_text(
            "version = 2\n"
            f'root = "{self.dir}/root"\nstate = "{self.dir}/state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{self.socket}"\n'
            f'[ttrpc]\n  address = "{self.socket}.ttrpc"\n'
        )
        log = Path(self.dir, "containerd.log")
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_socket(self.socket, self.proc, log, 30)
        return self

    def ctr(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.ctr_binary, "--address", self.socket, "--namespace", "imagegolf", *args],
            capture_output=True,
            check=check,
            timeout=timeout,
        )

    def stop(self) -> None:
        stop_process(self.proc)
        subprocess.run(["umount", "-R", f"{self.dir}/root"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Podman:
    """The podman CLI against a fresh, private store (never the host's images), with libpod's
    state in its own ``--tmpdir`` too: the default, /run/libpod, is shared with every podman on
    the host, and a ``podman system reset`` anywhere removes it."""

    def __init__(self) -> None:
        self.binary = require("podman")
        self.dir = tempfile.mkdtemp(prefix="igp-", dir="/tmp")

    def podman(
        self, *args: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        from imagegolf.engine.podman_service import runtime_flags

        cmd = [
            self.binary,
            "--root",
            f"{self.dir}/root",
            "--runroot",
            f"{self.dir}/run",
            "--storage-driver",
            "overlay",
            "--tmpdir",
            f"{self.dir}/tmp",
            "--events-backend",
            "file",
            *runtime_flags(),
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, check=check, input=input, timeout=300)

    def run_args(self) -> list[str]:
        """Flags every `podman run` needs on hosts whose runtime cannot set default rlimits."""
        return ["--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    def stop(self) -> None:
        self.podman("system", "reset", "--force", check=False)
        subprocess.run(["umount", "-R", f"{self.dir}/root"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
