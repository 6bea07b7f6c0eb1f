"""Start and stop podman's Docker-compatible API service on a private unix socket.

Used when no engine socket is available. The service is configured for the host it
runs on: where crun cannot run containers (cgroup v1 or hybrid hierarchies, as on some
CI machines) it is started with ``--runtime runc``; on a normal host podman's default
runtime is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from imagegolf.errors import EnvironmentProblem
from imagegolf.processes import stop_process

SETUP_HINT = "install it with `sudo scripts/setup.sh` (or `apt-get install podman runc`)"


def cgroup_v2_unified() -> bool:
    """True on a pure cgroup v2 host, where podman's default runtime (crun) works."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def runtime_flags() -> list[str]:
    """Global podman flags for this host: ``--runtime runc`` unless cgroup v2 is unified."""
    forced = os.environ.get("IMAGEGOLF_PODMAN_RUNTIME")
    if forced:
        return ["--runtime", forced]
    if not cgroup_v2_unified() and shutil.which("runc"):
        return ["--runtime", "runc"]
    return []


class PodmanService:
    """A ``podman system service`` process owned by imagegolf; use as a context manager."""

    def __init__(self, podman: str | None = None) -> None:
        found = podman or shutil.which("podman")
        if not found:
            raise EnvironmentProblem("no container engine: podman is not installed", hint=SETUP_HINT)
        self.podman = found
        self._dir = tempfile.mkdtemp(prefix="imagegolf-podman-")
        self.socket_path = os.path.join(self._dir, "podman.sock")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 20.0) -> PodmanService:
        cmd = [self.podman, *runtime_flags(), "system", "service", "--time=0", self.url]
        log = open(os.path.join(self._dir, "service.log"), "wb")  # noqa: SIM115 - kept for the process
        # Its own directory as the working directory: conmon writes files such as "oom" into
        # the cwd it inherits, which must not be the user's.
        self._proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self._dir
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(self.socket_path):
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = Path(self._dir, "service.log").read_text(errors="replace").strip()[-300:]
        self.stop()
        raise EnvironmentProblem(
            f"podman system service did not start ({' '.join(cmd)}): {tail or 'no output'}",
            hint="check `podman info`; run `sudo scripts/setup.sh`",
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PodmanService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
