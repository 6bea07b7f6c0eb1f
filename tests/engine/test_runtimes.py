"""The sandbox under gVisor (runsc) on both engines, and how each engine gets the runtime: dockerd
per container (its daemon.json ``runtimes``), podman per service (imagegolf starts one for runsc
beside its runc one). runsc must be installed (``scripts/setup.sh``): these tests fail without it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from tests.archive import busybox_image
from tests.services import Dockerd, require

from imagegolf.engine import Engine, RunSpec, connect
from imagegolf.engine import runtimes as rt
from imagegolf.engine.podman_service import PodmanService, runtime_flags
from imagegolf.engine.sandbox import RUNSC_SANDBOX_PIDS
from imagegolf.errors import EngineError, EnvironmentProblem, UsageError
from imagegolf.judge import JudgeOptions

GVISOR = RunSpec(runtime="runsc", timeout_s=20)


@pytest.fixture(scope="module")
def gvisor(engine: Engine) -> Engine:
    """The engine (podman or dockerd) that runs containers under runsc."""
    require("runsc")
    return engine.for_runtime("runsc")


def _sh(engine: Engine, script: str, spec: RunSpec = GVISOR):  # type: ignore[no-untyped-def]
    names = engine.load(busybox_image(["/bin/busybox", "sh", "-c", script], tag="localhost/igtest-gvisor:1"))
    try:
        return engine.run(names[0], spec)
    finally:
        engine.remove_image(names[0])


@pytest.mark.engine
def test_the_run_spec_holds_under_gvisor(gvisor: Engine) -> None:
    result = _sh(
        gvisor,
        "/bin/busybox id -u; /bin/busybox grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; ulimit -u; "
        "ulimit -n; /bin/busybox hostname; /bin/busybox cat /etc/hosts /etc/resolv.conf; /bin/busybox pwd; "
        "/bin/busybox touch /x /tmp/x 2>/dev/null || echo read-only; /bin/busybox uname -r",
    )
    lines = result.stdout.decode().splitlines()
    assert result.exit_code == 0, result
    # gVisor's /proc/self/status has no NoNewPrivs line: it always sets it (runsc specutils.go:126-130)
    assert lines[:4] == ["65534", "CapEff:\t0000000000000000", "32", "64"]
    assert lines[4:9] == [
        "imagegolf",
        "127.0.0.1\tlocalhost imagegolf",
        "::1\tlocalhost imagegolf",
        "/",
        "read-only",
    ]
    assert lines[9] == "4.4.0"  # gVisor's own kernel answers, not the host's


@pytest.mark.engine
def test_gvisor_hides_the_hosts_paths_and_network(gvisor: Engine) -> None:
    result = _sh(gvisor, "/bin/busybox cat /proc/self/mountinfo; /bin/busybox ls /sys/class/net 2>&1; true")
    text = result.stdout.decode()
    assert result.exit_code == 0 and " / / ro " in text
    for host_path in ("/var/lib", "/tmp/", "imagegolf-", "lowerdir", "/run/"):
        assert host_path not in text, text  # under runc, mountinfo names the engine's storage paths


@pytest.mark.engine
def test_a_shell_forks_under_gvisor_run_after_run(gvisor: Engine) -> None:
    """The engine's pids cgroup holds gVisor's own threads (~25, and ~3 per process): with the
    program's limit of 32 there, forking failed now and then. It is the program's RLIMIT_NPROC now."""
    script = "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/busybox true & done; wait; echo forked"
    for _ in range(3):
        result = _sh(gvisor, script)
        assert (result.exit_code, result.stdout) == (0, b"forked\n"), result


@pytest.mark.engine
def test_a_fork_bomb_stops_at_the_process_limit_under_gvisor(gvisor: Engine) -> None:
    result = _sh(
        gvisor,
        "echo started; while :; do /bin/busybox sleep 10 & done",
        RunSpec(runtime="runsc", timeout_s=10),
    )
    assert result.exit_code == 2 and result.stdout == b"started\n"
    assert b"can't fork" in result.stderr


@pytest.mark.engine
def test_the_podman_service_for_runsc_is_started_beside_the_runc_one(podman_engine: Engine) -> None:
    require("runsc")
    sibling = podman_engine.for_runtime("runsc")
    assert sibling is not podman_engine and sibling.url != podman_engine.url
    assert sibling.podman_runtime() == "runsc" and podman_engine.podman_runtime() == "runc"
    assert podman_engine.for_runtime("runsc") is sibling  # started once
    assert sibling.for_runtime("runc") is podman_engine
    assert podman_engine.for_runtime("runc") is podman_engine


@pytest.mark.engine
def test_dockerd_chooses_the_runtime_per_container(docker_engine: Engine, dockerd: Dockerd) -> None:
    require("runsc")
    assert docker_engine.for_runtime("runsc") is docker_engine
    runtimes = docker_engine.api.info().runtimes
    assert rt.docker_problem(runtimes, "runsc") is None
    assert "--network=none" in (runtimes["runsc"] or ())


@pytest.fixture
def runc_podman() -> Iterator[PodmanService]:
    """A podman service started as an organiser would, not by imagegolf: one runtime, runc."""
    service = PodmanService().start()
    try:
        yield service
    finally:
        service.stop()


@pytest.mark.engine
def test_an_engine_without_the_runtime_is_an_environment_error(runc_podman: PodmanService) -> None:
    with connect({"DOCKER_HOST": runc_podman.url}) as engine:
        with pytest.raises(EngineError, match="runs containers under runc, not runsc") as refused:
            engine.for_runtime("runsc")
        assert "--runtime runsc --runtime-flag network=none" in str(refused.value)
        names = engine.load(busybox_image(["/bin/busybox", "true"], tag="localhost/igtest-rt:1"))
        try:
            with pytest.raises(EngineError, match="not runsc"):
                engine.run(names[0], GVISOR)
        finally:
            engine.remove_image(names[0])


def test_what_dockerd_must_have() -> None:
    assert rt.docker_problem({"runc": ()}, "runc") is None
    assert rt.docker_problem({"runc": ()}, "runsc") == "it has no runsc runtime (its runtimes: runc)"
    assert rt.docker_problem({"runsc": None}, "runsc") == "it has no runsc runtime (its runtimes: runsc)"
    lacking = rt.docker_problem({"runsc": ()}, "runsc")
    assert lacking is not None and "lacks --network=none" in lacking
    assert rt.docker_runtimes("/usr/bin/runsc") == {
        "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}
    }
    assert '"runtimeArgs": ["--network=none"]' in rt.docker_hint("runsc")


def test_runtime_flags_and_the_spec_under_runsc() -> None:
    require("runsc")
    assert runtime_flags("runsc") == ["--runtime", "runsc", "--runtime-flag", "network=none"]
    config = RunSpec(runtime="runsc").host_config()
    nproc = next(u for u in config["ulimits"] if u["Name"] == "nproc")
    assert (config["runtime"], config["pids_limit"], nproc["Soft"]) == ("runsc", RUNSC_SANDBOX_PIDS, 32)
    plain = RunSpec().host_config()
    assert (plain["runtime"], plain["pids_limit"]) == ("runc", 32)


def test_a_missing_runsc_and_an_unknown_runtime_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"^runtime 'kata': give runc .* or runsc"):
        JudgeOptions("x", spec=RunSpec(runtime="kata"))
    with pytest.raises(UsageError, match=r"^runtime 'kata'"):
        rt.check_runtime("kata")
    with pytest.raises(UsageError, match=r"^--runtime 'kata'"):
        rt.check_runtime("kata", "--runtime")  # a front end names its own option
    monkeypatch.setattr(shutil, "which", lambda _name, *args, **kwargs: None)
    with pytest.raises(EnvironmentProblem, match=r"runsc \(gVisor\) is not installed") as missing:
        PodmanService(podman="/usr/bin/podman", runtime="runsc")
    assert "scripts/setup.sh" in str(missing.value)
