"""Issue 4's acceptance: `imagegolf judge` on the record image (386 and amd64), on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegolf import elf, oci, store
from imagegolf.platform import LINUX_386, LINUX_AMD64, Platform
from tests.cli.run_cli import cli
from tests.services import Dockerd

pytestmark = pytest.mark.engine
PHRASE = "hello IDBS engineering"


@pytest.mark.parametrize("platform", [LINUX_386, LINUX_AMD64], ids=str)
@pytest.mark.parametrize("engine_name", ["podman", "docker"])
def test_record_image_is_accepted_with_its_five_metrics(
    platform: Platform, engine_name: str, tmp_path: Path, dockerd: Dockerd
) -> None:
    program = elf.build_program(f"{PHRASE}\n".encode(), platform)
    image = oci.build_record_image(program, platform)
    path = store.write_dual_tar(image, tmp_path / "record.tar", "localhost/igtest/record:1")
    # podman: no DOCKER_HOST and no Docker socket, so imagegolf starts podman's service itself.
    environ = {"DOCKER_HOST": dockerd.url} if engine_name == "docker" else {}
    result = cli("judge", str(path), "--phrase", PHRASE, "--json", environ=environ)
    assert result.code == 0, result.stderr
    [judged] = json.loads(result.stdout)
    assert judged["verdict"] == "ACCEPTED"
    assert judged["digest"] == str(image.manifest_digest)
    assert judged["platform"] == str(platform)
    assert judged["metrics"] == oci.size_metrics(image).as_dict()
    assert judged["metrics"]["docker_classic"] == len(program)
    assert [run["stdout"] for run in judged["runs"]] == [f"{PHRASE}\n"] * 3
