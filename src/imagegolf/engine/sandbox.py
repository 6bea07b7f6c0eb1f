"""The hardened run specification. Fixed by imagegolf: nothing is taken from the image."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from imagegolf.engine.runtimes import RUNC, RUNSC

NOBODY = "65534:65534"
NOBODY_UID = 65534
# Writable places engines add to a read-only root (podman's read-only-tmpfs: /tmp, /var/tmp,
# /run; both engines: /dev/shm). Each is covered by an empty, read-only tmpfs instead.
MASKED_PATHS = ("/tmp", "/var/tmp", "/run", "/dev/shm")
MASK_BYTES = 4096
LABEL = "io.imagegolf.sandbox"
# Under runsc the engine's pids cgroup holds gVisor's own kernel: about 25 host threads at rest and
# 3 more per program process (measured, runsc 20240729, systrap). A limit of 32 there lets a shell
# fork one child, sometimes, and kills the sandbox when it cannot. So under runsc the cgroup bounds
# the sandbox as a whole (``RUNSC_SANDBOX_PIDS``) and the program's ``pids_limit`` is its
# RLIMIT_NPROC, which gVisor counts over the sandbox's own tasks (pkg/sentry/kernel/kernel.go
# incRLimitNProc): all of them run as the sandbox user, so the program gets the same 32 tasks.
RUNSC_SANDBOX_PIDS = 256
# What the program may learn of its machine: nothing of the judge's host, the same on every engine.
HOSTNAME = "imagegolf"
DOMAINNAME = "(none)"  # the kernel's "not set"; podman 4.3 ignores it (see PodmanService)
SANDBOX_ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/",
    f"HOSTNAME={HOSTNAME}",
    "TERM=dumb",  # podman would add TERM=xterm; there is no terminal
    f"container={HOSTNAME}",  # podman would add container=podman
)
# Both engines bind-mount their own versions (podman's copy the host's /etc/hosts); a user mount
# at the same path replaces theirs, on both.
ETC_FILES = {
    "hostname": f"{HOSTNAME}\n".encode(),
    "hosts": f"127.0.0.1\tlocalhost {HOSTNAME}\n::1\tlocalhost {HOSTNAME}\n".encode(),
    "resolv.conf": b"",  # no network, so no name servers
}


@dataclass(frozen=True)
class RunSpec:
    """How a container runs: no network, read-only root, no capabilities, tight limits."""

    timeout_s: float = 10.0
    memory_bytes: int = 64 * 1024 * 1024
    pids_limit: int = 32
    cpu_nanos: int = 500_000_000  # half a core
    nofile: int = 64
    nproc: int = 256  # RLIMIT_NPROC counts the host user's processes: keep headroom
    fsize: int = 1024 * 1024
    stdout_cap: int = 1024 * 1024
    stderr_cap: int = 64 * 1024
    user: str = NOBODY
    working_dir: str = "/"  # forced: the image's WorkingDir may point at /proc/self/fd
    env: tuple[str, ...] = field(default=SANDBOX_ENV)
    # Read-only empty tmpfs mounts: the engines' writable tmpfs places and the image's Volumes,
    # which engines would otherwise create as writable anonymous volumes on the host's disk.
    masked_paths: tuple[str, ...] = MASKED_PATHS
    # The OCI runtime (engine/runtimes.py): runc, or runsc (gVisor). dockerd takes it per container;
    # a podman service runs one runtime for all (``Engine.for_runtime``).
    runtime: str = RUNC

    def masking(self, paths: tuple[str, ...]) -> RunSpec:
        """This spec with ``paths`` (an image's Volumes) masked too."""
        return replace(self, masked_paths=tuple(dict.fromkeys((*self.masked_paths, *paths))))

    @property
    def path_env(self) -> str:
        """The PATH the container process gets (ours overrides the image's)."""
        for item in self.env:
            if item.startswith("PATH="):
                return item[len("PATH=") :]
        return ""

    def create_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``APIClient.create_container`` (host config excluded)."""
        return {
            "hostname": HOSTNAME,
            "domainname": DOMAINNAME,
            "user": self.user,
            "working_dir": self.working_dir,
            "environment": list(self.env),
            "network_disabled": True,
            "tty": False,
            "stdin_open": False,
            "healthcheck": {"test": ["NONE"]},
            "labels": {LABEL: "1"},
        }

    def host_config(self, etc_dir: str | None = None) -> dict[str, object]:
        """Keyword arguments for ``APIClient.create_host_config``; ``etc_dir`` holds the ``ETC_FILES``."""
        gvisor = self.runtime == RUNSC  # the pids cgroup holds gVisor too: see RUNSC_SANDBOX_PIDS
        pids, nproc = (RUNSC_SANDBOX_PIDS, self.pids_limit) if gvisor else (self.pids_limit, self.nproc)
        return {
            "network_mode": "none",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": pids,
            "mem_limit": self.memory_bytes,
            "memswap_limit": self.memory_bytes,  # swap equal to memory: no swap at all
            "nano_cpus": self.cpu_nanos,
            "ulimits": [
                {"Name": "nofile", "Soft": self.nofile, "Hard": self.nofile},
                {"Name": "nproc", "Soft": nproc, "Hard": nproc},
                {"Name": "fsize", "Soft": self.fsize, "Hard": self.fsize},
                {"Name": "core", "Soft": 0, "Hard": 0},
            ],
            "init": False,
            "privileged": False,
            "runtime": self.runtime,  # podman's compat API ignores it (Engine.for_runtime)
            "auto_remove": False,  # we remove it ourselves after reading the exit status
            "log_config": {"Type": "none", "Config": {}},  # no daemon-side copy of the output
            # A user mount at a Volume's path stops both engines creating the volume there.
            "mounts": [
                {
                    "Type": "tmpfs",
                    "Target": path,
                    "ReadOnly": True,
                    "TmpfsOptions": {"SizeBytes": MASK_BYTES, "Mode": 0o555},
                }
                for path in self.masked_paths
            ]
            + [
                {"Type": "bind", "Source": f"{etc_dir}/{name}", "Target": f"/etc/{name}", "ReadOnly": True}
                for name in (ETC_FILES if etc_dir else ())
            ],
        }


@contextlib.contextmanager
def etc_files() -> Iterator[str]:
    """A directory holding the ``ETC_FILES`` (readable by the sandbox user), removed afterwards."""
    directory = tempfile.mkdtemp(prefix="imagegolf-sandbox-")
    try:
        for name, data in ETC_FILES.items():
            path = os.path.join(directory, name)
            with open(path, "wb") as out:
                out.write(data)
            os.chmod(path, 0o644)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
