"""`imagegolf run` and `explain` end to end, and the environment errors (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.run_cli import cli
from tests.services import Dockerd

pytestmark = pytest.mark.engine
MESSAGE = b"hello IDBS engineering\n"
IMAGEGOLF = [sys.executable, "-m", "imagegolf.cli"]


@pytest.fixture(scope="module")
def record_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "record.tar"
    assert cli("build", "-o", str(out)).code == 0
    return out


def test_run_on_dockerd_passes_stdout_and_exit_code(record_tar: Path, dockerd: Dockerd) -> None:
    result = cli("run", str(record_tar), environ={"DOCKER_HOST": dockerd.url})
    assert (result.code, result.stdout) == (0, MESSAGE), result.stderr


def test_run_on_podman_started_by_imagegolf(record_tar: Path) -> None:
    # No DOCKER_HOST and (on CI) no docker socket: imagegolf starts podman's service itself.
    result = subprocess.run(
        [*IMAGEGOLF, "run", str(record_tar)],
        capture_output=True,
        env={"PATH": os.environ["PATH"]},
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, MESSAGE), result.stderr


def test_explain_names_the_fields_and_disassembles(record_tar: Path) -> None:
    result = cli("explain", str(record_tar), "--message", "hello IDBS engineering\n")
    assert result.code == 0, result.stderr
    for needle in ("e_machine", "p_vaddr", "int 0x80", "EM_386"):
        assert needle in result.text


def test_dead_docker_host_is_an_environment_error(record_tar: Path) -> None:
    result = cli("run", str(record_tar), environ={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == 3
    assert "does not answer" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_engine_installed_is_an_environment_error(record_tar: Path, tmp_path: Path) -> None:
    # A PATH with python but without podman: the error says what to install.
    result = subprocess.run(
        [*IMAGEGOLF, "run", str(record_tar)],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        timeout=60,
    )
    if os.path.exists("/var/run/docker.sock"):
        pytest.fail("this host runs a Docker socket; the test needs a host without one")
    assert result.returncode == 3
    assert "podman is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_load_puts_the_image_into_the_engine(dockerd: Dockerd) -> None:
    name = "localhost/igtest-load:1"
    result = cli("build", "--load", "--name", name, environ={"DOCKER_HOST": dockerd.url})
    assert result.code == 0, result.stderr
    assert f"engine:{name}" in result.text
    run = dockerd.docker("run", "--rm", "--network=none", name)
    assert run.stdout == MESSAGE
    dockerd.docker("rmi", "-f", name)


def test_run_passes_a_foreign_arch_image_through_binfmt(tmp_path: Path, dockerd: Dockerd) -> None:
    out = tmp_path / "arm64.tar"
    assert cli("build", "--platform", "linux/arm64", "-o", str(out)).code == 0
    result = cli("run", str(out), environ={"DOCKER_HOST": dockerd.url})
    assert (result.code, result.stdout) == (0, MESSAGE), result.stderr
