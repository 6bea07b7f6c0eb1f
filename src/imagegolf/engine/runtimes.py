"""The OCI runtimes a sandboxed run may use: ``runc`` (the host kernel runs the program) or ``runsc``
(gVisor: a kernel of its own, in user space, between the program and the host's).

Both run under the same ``RunSpec``. What differs is who loads the program: the host's Linux ELF
loader under runc, gVisor's (pkg/sentry/loader/elf.go) under runsc, which is stricter about the
ELF header (judge/gvisor.py) and runs only 64-bit programs of the host's own architecture.

Where each engine gets runsc:

- dockerd: a ``runtimes`` entry in its daemon.json (``docker_runtimes``), chosen per container
  by ``HostConfig.Runtime``;
- podman: a global ``--runtime runsc`` (``podman_flags``). Its Docker-compatible API ignores
  ``HostConfig.Runtime``, so the podman service imagegolf starts runs one runtime, and another
  service is started for the other runtime when a run asks for it (engine/discovery.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping

from imagegolf.errors import EnvironmentProblem, UsageError

RUNC = "runc"
RUNSC = "runsc"
RUNTIMES = (RUNC, RUNSC)
# runsc's own flags, on every engine. --network=none: the sandbox gets no network stack but its
# own loopback (the run spec has no network anyway). Without it, runsc builds gVisor's network
# from the container's network namespace, which on some hosts (this project's CI: hybrid cgroups,
# a Firecracker VM) fails with "cannot run with network enabled in root network namespace" and
# leaves the sandbox process running. The platform is runsc's default (systrap in 20240729,
# ptrace in 20221219); --platform=kvm needs working nested virtualization (it spins where there is none).
RUNSC_FLAGS = ("--network=none",)
RUNSC_HINT = (
    "install gVisor with `scripts/setup.sh` (Debian's runsc package, from bookworm-backports on Debian 12)"
)


def check_runtime(name: str, setting: str = "runtime") -> str:
    """``name`` if it is a runtime imagegolf runs images under, else a UsageError naming ``setting``
    (a front end may name its own option instead)."""
    if name not in RUNTIMES:
        raise UsageError(
            f"{setting} {name!r}: give runc (the host kernel runs the program) or runsc (gVisor's "
            "sandbox kernel runs it)"
        )
    return name


def runsc_binary() -> str:
    """The path of runsc, or an EnvironmentProblem saying how to install it."""
    found = shutil.which("runsc") or next(
        (p for p in ("/usr/bin/runsc", "/usr/sbin/runsc", "/usr/local/bin/runsc") if shutil.which(p)), None
    )
    if not found:
        raise EnvironmentProblem("runsc (gVisor) is not installed", hint=RUNSC_HINT)
    return found


def docker_runtimes(runsc: str | None = None) -> dict[str, dict[str, object]]:
    """The ``runtimes`` entry of a dockerd's daemon.json that lets it run containers under runsc."""
    return {RUNSC: {"path": runsc or runsc_binary(), "runtimeArgs": list(RUNSC_FLAGS)}}


def podman_flags(runtime: str) -> list[str]:
    """Global podman flags that make ``runtime`` the one its containers run under (runsc only:
    runc's flags depend on the host, engine/podman_service.py ``runtime_flags``)."""
    check_runtime(runtime)
    if runtime != RUNSC:
        return []
    runsc_binary()
    flags = ["--runtime", RUNSC]
    for flag in RUNSC_FLAGS:
        flags += ["--runtime-flag", flag.removeprefix("--")]
    return flags


def docker_problem(runtimes: Mapping[str, tuple[str, ...] | None], runtime: str) -> str | None:
    """Why a dockerd whose ``docker info`` lists ``runtimes`` (name: its ``runtimeArgs``, None for
    an entry that is not an object) cannot run ``runtime`` as the sandbox needs it, or None."""
    if runtime == RUNC:
        return None  # dockerd always has runc, whatever its default runtime
    entry = runtimes.get(runtime)
    if entry is None:
        return f"it has no {runtime} runtime (its runtimes: {', '.join(sorted(runtimes)) or 'none'})"
    args = list(entry)
    missing = [flag for flag in RUNSC_FLAGS if flag not in args]
    if missing:
        return f"its {runtime} runtime lacks {' '.join(missing)} in runtimeArgs (it has {args or 'none'})"
    return None


def docker_hint(runtime: str) -> str:
    entry = json.dumps({RUNSC: {"path": "/usr/bin/runsc", "runtimeArgs": list(RUNSC_FLAGS)}})
    return (
        f'add {entry} to the "runtimes" of its daemon.json and reload it (`scripts/setup.sh` does '
        f"this for Debian's docker.io), or unset DOCKER_HOST to let imagegolf start podman with {runtime}"
    )
