"""The hardened run, on both engines: what the container process can see and do."""

from __future__ import annotations

import pytest
from tests.archive import busybox_image

from imagegolf.engine import Engine, ImageRefused, RunSpec
from imagegolf.engine.client import DockerApiEngine, _exit_status
from imagegolf.engine.docker_api import ContainerState, DockerApi
from imagegolf.errors import EngineError

pytestmark = pytest.mark.engine


def _sh(engine: Engine, script: str, spec: RunSpec | None = None, **config: object):  # type: ignore[no-untyped-def]
    names = engine.load(busybox_image(["/bin/busybox", "sh", "-c", script], **config))
    try:
        return engine.run(names[0], spec)
    finally:
        engine.remove_image(names[0])


def test_stdout_and_exit_code_pass_through_separately(engine: Engine) -> None:
    result = _sh(engine, "echo out; echo err >&2; exit 7")
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.exit_code == 7
    assert not result.timed_out


def test_runs_unprivileged_without_capabilities_or_new_privileges(engine: Engine) -> None:
    result = _sh(engine, "/bin/busybox id -u; /bin/busybox grep -E '^(CapEff|NoNewPrivs)' /proc/self/status")
    lines = result.stdout.decode().split("\n")
    assert lines[0] == "65534"
    assert "CapEff:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines


def test_root_is_read_only_and_workdir_forced(engine: Engine) -> None:
    result = _sh(engine, "/bin/busybox pwd; /bin/busybox touch /x && echo wrote", WorkingDir="/proc/self/fd")
    assert result.stdout == b"/\n"
    assert b"Read-only file system" in result.stderr


def test_no_network_interfaces_but_loopback(engine: Engine) -> None:
    result = _sh(engine, "/bin/busybox ls /sys/class/net")
    assert result.stdout.split() in ([b"lo"], [])


def test_limits_apply(engine: Engine) -> None:
    result = _sh(
        engine,
        "ulimit -n; ulimit -c; /bin/busybox cat /sys/fs/cgroup/pids/pids.max 2>/dev/null "
        "|| /bin/busybox cat /sys/fs/cgroup/pids.max",
    )
    nofile, core, pids = result.stdout.split()
    assert (int(nofile), int(core), int(pids)) == (RunSpec().nofile, 0, RunSpec().pids_limit)


def test_wall_timeout_kills(engine: Engine) -> None:
    result = _sh(engine, "echo started; /bin/busybox sleep 30", RunSpec(timeout_s=2))
    assert result.timed_out
    assert result.exit_code is None
    assert result.stdout == b"started\n"
    assert result.wall_ms < 15_000


def test_endless_output_is_capped_while_streaming(engine: Engine) -> None:
    result = _sh(engine, "/bin/busybox yes", RunSpec(stdout_cap=64 * 1024, timeout_s=20))
    assert result.stdout_truncated
    assert len(result.stdout) == 64 * 1024
    assert not result.timed_out


def test_stderr_is_capped_while_streaming_too(engine: Engine) -> None:
    result = _sh(engine, "echo out; /bin/busybox yes err >&2", RunSpec(stderr_cap=4096, timeout_s=20))
    assert result.stderr_truncated and result.output_limited and result.started
    assert len(result.stderr) == 4096
    # dockerd copies stdout and stderr into the attach stream from separate goroutines: "out" may
    # arrive after the stderr cap has stopped collection.
    assert result.stdout in (b"out\n", b"")
    assert not result.timed_out and result.wall_ms < 15_000


def test_writable_places_are_masked_and_image_volumes_never_created(engine: Engine) -> None:
    places = ("/tmp", "/var/tmp", "/run", "/dev/shm", "/data")
    script = "; ".join(f"/bin/busybox touch {p}/x 2>/dev/null && echo wrote {p}" for p in places)
    volumes_before = len(engine.api.sdk.volumes().get("Volumes") or [])
    result = _sh(engine, f"{script}; echo done", RunSpec().masking(("/data",)), Volumes={"/data": {}})
    assert result.stdout == b"done\n", result.stdout
    assert len(engine.api.sdk.volumes().get("Volumes") or []) == volumes_before


def test_a_start_failure_is_a_result(engine: Engine) -> None:
    names = engine.load(busybox_image(["/nope"], tag="localhost/igtest-nope:1"))
    try:
        result = engine.run(names[0])
    finally:
        engine.remove_image(names[0])
    assert not result.started and result.exit_code is None
    assert "/nope" in result.error


def test_the_container_is_created_as_the_spec_says(engine: Engine) -> None:
    names = engine.load(busybox_image(["/bin/busybox", "true"], tag="localhost/igtest-spec:1", User="0"))
    spec = RunSpec().masking(("/data",))
    created = engine.api.sdk.create_container(
        names[0], host_config=engine.api.sdk.create_host_config(**spec.host_config()), **spec.create_kwargs()
    )
    try:
        info = engine.api.sdk.inspect_container(created["Id"])
    finally:
        engine.api.sdk.remove_container(created["Id"], force=True, v=True)
        engine.remove_image(names[0])
    host, config = info["HostConfig"], info["Config"]
    assert host["ReadonlyRootfs"] is True and host["Privileged"] is False
    dropped = {c.upper().removeprefix("CAP_") for c in host["CapDrop"]}  # podman lists them one by one
    assert "ALL" in dropped or {"CHOWN", "DAC_OVERRIDE", "SETUID", "SETGID", "NET_RAW", "KILL"} <= dropped
    assert not host.get("CapAdd")
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["NetworkMode"] == "none"
    assert host["LogConfig"]["Type"] == "none"
    assert host["Memory"] == host["MemorySwap"] == spec.memory_bytes
    assert host["PidsLimit"] == spec.pids_limit
    # docker lists the masks as Mounts, podman as Tmpfs options: read-only either way.
    masks = {m["Target"]: m["ReadOnly"] for m in host.get("Mounts") or []}
    masks.update({path: opts.split(",")[0] == "ro" for path, opts in (host.get("Tmpfs") or {}).items()})
    assert masks == {path: True for path in spec.masked_paths}
    assert config["User"] == "65534:65534" and config["Tty"] is False and config["WorkingDir"] == "/"


def test_removing_our_tag_keeps_the_image_for_its_other_names(engine: Engine) -> None:
    archive = busybox_image(["/bin/busybox", "true"], tag="localhost/igtest-keep:1")
    names = engine.load(archive)
    engine.api.sdk.tag(names[0], "localhost/igtest-keep", "ours")
    engine.remove_image("localhost/igtest-keep:ours", force=False)
    try:
        assert engine.api.sdk.inspect_image(names[0])
    finally:
        engine.remove_image(names[0])


def test_a_refused_archive_raises_image_refused(engine: Engine) -> None:
    with pytest.raises(ImageRefused):
        engine.load(b"not a tar at all" * 64)


def test_an_engine_that_stops_answering_raises() -> None:
    url = "unix:///nonexistent/docker.sock"
    dead = DockerApiEngine(DockerApi.open(url, version="1.41"), url)
    with pytest.raises(EngineError):
        dead.run("localhost/anything:1")
    with pytest.raises(EngineError):
        dead.load(b"x")


@pytest.mark.parametrize(
    ("waited", "state", "expected"),
    [
        (3, ContainerState("exited", 3), 3),
        (-1, ContainerState("exited", 126), 126),  # podman's wait lost it; inspect has it
        (None, ContainerState("exited", 0), 0),
        (-1, ContainerState("running", 0), None),
        (None, ContainerState(), None),
    ],
)
def test_exit_status_falls_back_to_the_inspected_state(
    waited: int | None, state: ContainerState, expected: int | None
) -> None:
    assert _exit_status(waited, state) == expected
