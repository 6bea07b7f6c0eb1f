"""The podman service imagegolf starts keeps everything in its own directory and removes it on exit;
an engine that cannot see the sandbox's /etc files is an environment error, not a verdict."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.archive import busybox_image

from imagegolf.engine import Engine, RunSpec, connect
from imagegolf.engine import client as engine_client
from imagegolf.engine.podman_service import PodmanService
from imagegolf.errors import EngineError

pytestmark = pytest.mark.engine
IMAGEGOLF = [sys.executable, "-m", "imagegolf.cli"]


def _mounts_under(directory: str) -> list[str]:
    with open("/proc/self/mountinfo") as mountinfo:
        return [line.split()[4] for line in mountinfo if line.split()[4].startswith(directory)]


def test_the_private_podman_keeps_its_state_in_its_directory_and_removes_it() -> None:
    service = PodmanService().start()
    directory = service.directory
    try:
        with connect({"DOCKER_HOST": service.url}) as engine:
            assert engine.api.info().root_dir == f"{directory}/root"
            archive = busybox_image(["/bin/busybox", "sh", "-c", "sleep 2; echo hi"], tag="localhost/ig-p:1")
            names = engine.load(archive)
            with ThreadPoolExecutor(1) as pool:
                running = pool.submit(engine.run, names[0])
                time.sleep(1)
                assert _mounts_under(directory)  # the container's overlay root is mounted in there
                assert running.result().stdout == b"hi\n"
            for private in ("tmp/locks", "tmp/events/events.log", "tmp/alive", "root/libpod/bolt_state.db"):
                assert Path(directory, private).exists(), private
    finally:
        service.stop()
    assert not os.path.exists(directory)
    assert not _mounts_under(directory)


def test_imagegolf_run_uses_a_private_store_and_hides_the_hosts_domain_name(tmp_path: Path) -> None:
    """No DOCKER_HOST, no socket: `imagegolf run` starts podman on a store of its own, removed on exit.
    The host's NIS domain name (set here in a UTS namespace of the test's own) does not reach the
    container: podman 4.3 ignores a container's Domainname, so the service runs in its own."""
    script = "cat /proc/sys/kernel/domainname; hostname"
    source = tmp_path / "domain.tar"
    source.write_bytes(busybox_image(["/bin/busybox", "sh", "-c", script.replace("cat", "/bin/busybox cat")]))
    # Other private podmans (this session's fixtures) may be running: only what this run adds counts.
    before = {p.name for p in Path("/tmp").glob("imagegolf-podman-*")}
    mounted = set(_mounts_under("/tmp/imagegolf-podman-"))
    result = subprocess.run(
        [
            "unshare", "--uts", "--", "/bin/sh", "-c",
            'printf leak.example.com > /proc/sys/kernel/domainname && exec "$@"', "sh",
            *IMAGEGOLF, "run", str(source),
        ],
        capture_output=True,
        env={"PATH": os.environ["PATH"]},
        timeout=120,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, b"(none)\nimagegolf\n"), result.stderr
    assert {p.name for p in Path("/tmp").glob("imagegolf-podman-*")} == before
    assert set(_mounts_under("/tmp/imagegolf-podman-")) <= mounted


@contextlib.contextmanager
def _unseen_files(directory: Path) -> Iterator[str]:
    yield str(directory)


def test_an_engine_that_cannot_see_the_sandbox_files_is_an_environment_error(
    docker_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when the engine runs in another mount namespace: the files are not where it looks. (podman
    # would create them as empty directories instead, so this is dockerd only.)
    monkeypatch.setattr(engine_client, "etc_files", lambda: _unseen_files(tmp_path / "elsewhere"))
    names = docker_engine.load(busybox_image(["/bin/busybox", "true"], tag="localhost/igtest-unseen:1"))
    try:
        with pytest.raises(EngineError, match="cannot see the sandbox's files"):
            docker_engine.run(names[0], RunSpec())
    finally:
        docker_engine.remove_image(names[0])
