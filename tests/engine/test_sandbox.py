"""The hardened run, on both engines: what the container process can see and do."""

from __future__ import annotations

import pytest
from tests.archive import busybox_image

from imagegolf.engine import Engine, RunSpec

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
