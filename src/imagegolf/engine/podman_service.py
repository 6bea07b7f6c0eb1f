"""Start and stop podman's Docker-compatible API service on a private unix socket and store.

Used when no engine socket is available. Everything the service keeps is in one temp directory,
removed (mounts first) when it stops: the store (``--root``, ``--runroot``), libpod's state
(``--tmpdir``: the alive lock, conmon's exit files, the events log, and file locks instead of the
host-wide ``/dev/shm/libpod_lock``), runc's state, the network config and the temp files of image
loads. No ``containers.conf`` of the host applies (``CONTAINERS_CONF`` names imagegolf's own), so
no host setting (env, volumes, devices, DNS) reaches the sandbox. The service is configured for
the host it runs on: where crun cannot run containers (cgroup v1 or hybrid hierarchies, as on some
CI machines) it is started with ``--runtime runc``; on a normal host podman's default runtime is
kept. A service for gVisor is started with ``--runtime runsc`` and runsc's flags instead
(engine/runtimes.py): podman's Docker-compatible API cannot choose a runtime per container.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from imagegolf.engine.runtimes import RUNC, RUNSC, podman_flags
from imagegolf.engine.sandbox import DOMAINNAME
from imagegolf.errors import EnvironmentProblem
from imagegolf.processes import pids_where, stop_process

SETUP_HINT = "install it with `scripts/setup.sh` (or `apt-get install podman runc`)"
_CONF = """# imagegolf's private podman service; the host's containers.conf files do not apply.
[engine]
lock_type = "file"
image_copy_tmp_dir = "{tmp}"
"""
# podman 4.3 ignores a container's Domainname (and refuses the kernel.domainname sysctl): its
# containers inherit the service's, so the service runs in a UTS namespace of its own.
_OWN_DOMAINNAME = 'printf %s "$0" > /proc/sys/kernel/domainname && exec "$@"'


def cgroup_v2_unified() -> bool:
    """True on a pure cgroup v2 host, where podman's default runtime (crun) works."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def runtime_flags(runtime: str = RUNC) -> list[str]:
    """Global podman flags for this host and ``runtime``: for runc, ``--runtime runc`` unless cgroup
    v2 is unified (there podman's default, crun, is kept); for runsc, ``--runtime runsc`` and its flags."""
    if runtime == RUNSC:
        return podman_flags(runtime)
    forced = os.environ.get("IMAGEGOLF_PODMAN_RUNTIME")
    if forced:
        return ["--runtime", forced]
    if not cgroup_v2_unified() and shutil.which("runc"):
        return ["--runtime", "runc"]
    return []


def unmount_under(directory: str) -> None:
    """Unmount everything mounted at or below ``directory`` (``umount -R``, else a lazy detach)."""
    root = os.path.realpath(directory)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mountinfo:
        points = [_unescape(line.split()[4]) for line in mountinfo]
    inside = sorted({p for p in points if p == root or p.startswith(root + "/")}, key=len)
    for point in inside:
        if any(point.startswith(outer + "/") for outer in inside if outer != point):
            continue  # -R takes it with the mount above it
        if subprocess.run(["umount", "-R", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)


def _wait_for_users(directory: str, *, timeout_s: float) -> None:
    """Wait for the processes whose command line names ``directory`` to exit; kill what is left."""
    needle = directory.encode()

    def names_it(argv: list[bytes]) -> bool:
        return any(needle in arg for arg in argv)

    deadline = time.monotonic() + timeout_s
    while (users := pids_where(names_it)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in users:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _unescape(field: str) -> str:
    """A mountinfo path: space, tab, newline and backslash are written as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


class PodmanService:
    """A ``podman system service`` process owned by imagegolf; use as a context manager."""

    def __init__(self, podman: str | None = None, runtime: str = RUNC) -> None:
        found = podman or shutil.which("podman")
        if not found:
            raise EnvironmentProblem("no container engine: podman is not installed", hint=SETUP_HINT)
        self.podman = found
        self.runtime = runtime
        self._runtime_flags = runtime_flags(runtime)  # raises now when runsc is missing
        self.directory = tempfile.mkdtemp(prefix="imagegolf-podman-")
        self.socket_path = os.path.join(self.directory, "podman.sock")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def storage_flags(self) -> list[str]:
        """Global podman flags that keep all of the service's state in its own directory."""
        d = self.directory
        return [
            "--root", f"{d}/root",
            "--runroot", f"{d}/run",
            "--tmpdir", f"{d}/tmp",
            "--events-backend", "file",
            "--network-config-dir", f"{d}/networks",
            "--runtime-flag", f"root={d}/runtime",
        ]  # fmt: skip

    def start(self, timeout_s: float = 20.0) -> PodmanService:
        tmp = os.path.join(self.directory, "tmp")
        os.mkdir(tmp)
        conf = Path(self.directory, "containers.conf")
        conf.write_text(_CONF.format(tmp=tmp))
        service = ["system", "service", "--time=0", self.url]
        cmd = [self.podman, *self._runtime_flags, *self.storage_flags(), *service]
        if os.geteuid() == 0 and shutil.which("unshare"):
            cmd = ["unshare", "--uts", "--", "/bin/sh", "-c", _OWN_DOMAINNAME, DOMAINNAME, *cmd]
        env = {**os.environ, "CONTAINERS_CONF": str(conf), "TMPDIR": tmp}
        log = open(os.path.join(self.directory, "service.log"), "wb")  # noqa: SIM115 - kept for the process
        # Its own directory as the working directory: conmon writes files such as "oom" into
        # the cwd it inherits, which must not be the user's.
        self._proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.directory, env=env
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(self.socket_path):
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = Path(self.directory, "service.log").read_text(errors="replace").strip()[-300:]
        self.stop()
        raise EnvironmentProblem(
            f"podman system service did not start ({' '.join(cmd)}): {tail or 'no output'}",
            hint="check `podman info`; run `scripts/setup.sh`",
        )

    def stop(self) -> None:
        """Stop the service, unmount what its store left mounted (overlay), remove the directory."""
        proc, self._proc = self._proc, None
        stop_process(proc)
        # A container's exit is cleaned up by processes of its own (conmon, then `podman container
        # cleanup` with this store's --root), outside the service's process group: on a busy
        # machine one may start after the service stopped and make the store again. Wait for
        # them (then kill them), and remove the directory until it stays gone.
        _wait_for_users(self.directory, timeout_s=5.0)
        for _ in range(20):
            unmount_under(self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)
            if not os.path.exists(self.directory):
                return
            time.sleep(0.1)

    def __enter__(self) -> PodmanService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
