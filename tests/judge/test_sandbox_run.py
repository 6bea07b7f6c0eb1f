"""The one classifier of "the program never started", and the scrubbing of engine errors (no engine)."""

from __future__ import annotations

import pytest

from imagegolf.engine import RunResult
from imagegolf.engine.client import HOST_PATH, DockerApiEngine, scrub_host_paths
from imagegolf.engine.docker_api import DockerApi
from imagegolf.errors import EngineError
from imagegolf.judge.sandbox_run import start_failure


def result(
    code: int | None, stdout: bytes = b"", stderr: bytes = b"", error: str = "", **flags: bool
) -> RunResult:
    return RunResult(code, stdout, stderr, 5, False, flags.get("timed_out", False), False, error)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            result(None, error="exec format error"),
            "the engine could not start the container: exec format error",
        ),
        (result(127, stderr=b"not found"), "exit status 127: the runtime could not execute the command"),
        (result(126), "exit status 126: the runtime could not execute the command"),
        (result(125), "exit status 125: the runtime could not execute the command"),
        (
            result(1, stderr=b"exec /echo: no such file or directory\n"),
            "the runtime could not execute the command: exec /echo: no such file or directory",
        ),
        (result(1, stderr=b"exec /echo: no such file or directory\nmore\n"), None),  # not runc's alone
        (result(1, b"out", b"exec /x: permission denied\n"), None),  # it printed: it ran
        (result(1, stderr=b"boom\n"), None),
        (result(0), None),
        (result(None, timed_out=True), None),  # killed at the wall time: it had started
    ],
)
def test_never_started(run: RunResult, expected: str | None) -> None:
    assert start_failure(run) == expected


def test_the_layers_diagnosis_replaces_the_engines_words() -> None:
    assert start_failure(result(None, error="x"), "no /lib64/ld-linux-x86-64.so.2") == (
        "no /lib64/ld-linux-x86-64.so.2"
    )
    assert start_failure(result(1), "no loader") == "no loader"  # a silent failure the layers explain
    assert start_failure(result(3, b"hi"), "no loader") is None


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (  # podman 4.3 (runc 1.1), an image whose /etc/hostname is a directory
            "preparing container 97bc8779440b64de98b5fb91ccb3f2fe680e415182411781d86f56cf189b7689 "
            "for attach: runc: runc create failed: unable to start container process: error during "
            "container init: error "
            'mounting "/tmp/imagegolf-sandbox-2pp3cod3/hostname" to rootfs at "/etc/hostname": mount '
            "/tmp/imagegolf-sandbox-2pp3cod3/hostname:/etc/hostname (via /proc/self/fd/6), flags: 0x5001: "
            "not a directory: OCI runtime error",
            ['"/etc/hostname"', ":/etc/hostname", "/proc/self/fd/6"],
        ),
        (
            "error mounting /run/containers/storage/overlay-containers/"
            + "a" * 64
            + '/userdata/hosts to rootfs at "/etc/hosts"',
            ['"/etc/hosts"'],
        ),
        ("stat /var/lib/docker/overlay2/l/ABCDEF/merged: no such file", []),
        ('exec: "/nope": stat /nope: no such file or directory', ['"/nope"', "stat /nope"]),
    ],
)
def test_engine_errors_lose_their_host_paths(message: str, kept: list[str]) -> None:
    scrubbed = scrub_host_paths(message, ("/tmp/imagegolf-sandbox-2pp3cod3",))
    for needle in ("/tmp/", "/run/containers", "/var/lib", "userdata", "a" * 64):
        assert needle not in scrubbed
    for needle in kept:
        assert needle in scrubbed
    assert (HOST_PATH in scrubbed) == (message != scrubbed)


def test_an_engine_not_on_a_local_socket_is_refused_before_any_call() -> None:
    url = "tcp://192.0.2.1:2375"
    remote = DockerApiEngine(DockerApi.open(url, version="1.41"), url)
    with pytest.raises(EngineError, match="not reached through a local socket"):
        remote.run("localhost/anything:1")
