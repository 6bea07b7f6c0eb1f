"""The hardened run specification. Fixed by imagegolf: nothing is taken from the image."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

NOBODY = "65534:65534"
NOBODY_UID = 65534
# Writable places engines add to a read-only root (podman's read-only-tmpfs: /tmp, /var/tmp,
# /run; both engines: /dev/shm). Each is covered by an empty, read-only tmpfs instead.
MASKED_PATHS = ("/tmp", "/var/tmp", "/run", "/dev/shm")
MASK_BYTES = 4096
LABEL = "io.imagegolf.sandbox"


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
    env: tuple[str, ...] = field(
        default=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    )
    # Read-only empty tmpfs mounts: the engines' writable tmpfs places and the image's Volumes,
    # which engines would otherwise create as writable anonymous volumes on the host's disk.
    masked_paths: tuple[str, ...] = MASKED_PATHS

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

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``APIClient.create_container`` (host config excluded)."""
        return {
            "user": self.user,
            "working_dir": self.working_dir,
            "environment": list(self.env),
            "network_disabled": True,
            "tty": False,
            "stdin_open": False,
            "healthcheck": {"test": ["NONE"]},
            "labels": {LABEL: "1"},
        }

    def host_config(self) -> dict[str, Any]:
        """Keyword arguments for ``APIClient.create_host_config``."""
        return {
            "network_mode": "none",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": self.pids_limit,
            "mem_limit": self.memory_bytes,
            "memswap_limit": self.memory_bytes,  # swap equal to memory: no swap at all
            "nano_cpus": self.cpu_nanos,
            "ulimits": [
                {"Name": "nofile", "Soft": self.nofile, "Hard": self.nofile},
                {"Name": "nproc", "Soft": self.nproc, "Hard": self.nproc},
                {"Name": "fsize", "Soft": self.fsize, "Hard": self.fsize},
                {"Name": "core", "Soft": 0, "Hard": 0},
            ],
            "init": False,
            "privileged": False,
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
            ],
        }
