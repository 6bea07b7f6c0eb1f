"""Issue 2's acceptance, with independent tools: every variant loads and runs in every engine.

For 386 portable/modern, amd64 and arm64 (through binfmt + qemu-user): build -> podman load ->
podman run prints exactly the message; docker (classic 20.10) and containerd (`ctr run`) load
and run the same tar; skopeo reads the dual tar and the OCI dir; sizes match what the engines say.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imagegolf import oci, store
from imagegolf.cli.images import program_image
from imagegolf.platform import Platform
from tests.services import Containerd, Dockerd, Podman

pytestmark = pytest.mark.engine
MESSAGE = b"hello IDBS engineering\n"
VARIANTS = [
    ("linux/386", "embed", "portable"),
    ("linux/386", "embed", "modern"),
    ("linux/386", "argv", "portable"),
    ("linux/amd64", "embed", "portable"),
    ("linux/amd64", "argv", "portable"),
    ("linux/arm64", "embed", "portable"),
]


def _ids(variant: tuple[str, str, str]) -> str:
    return "-".join(variant).replace("linux/", "")


@pytest.fixture(scope="module", params=VARIANTS, ids=_ids)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, oci.Image]:
    platform, mode, profile = request.param
    _, image = program_image(MESSAGE, Platform.parse(platform), mode, profile)
    name = f"localhost/accept:{_ids(request.param)}"
    path = store.write_dual_tar(image, tmp_path_factory.mktemp("accept") / "image.tar", name)
    return name, path, image


def test_podman_loads_and_runs_it(built: tuple[str, Path, oci.Image], podman: Podman) -> None:
    name, path, image = built
    podman.podman("load", "-i", str(path))
    run = podman.podman("run", *podman.run_args(), "--user", "65534", name, check=False)
    assert (run.returncode, run.stdout) == (0, MESSAGE), run.stderr
    size = podman.podman("image", "inspect", "--format", "{{.Size}}", name).stdout
    assert int(size) == oci.size_metrics(image).podman
    podman.podman("rmi", "-f", name, check=False)


def test_docker_classic_loads_and_runs_it(built: tuple[str, Path, oci.Image], dockerd: Dockerd) -> None:
    name, path, image = built
    dockerd.docker("load", "-i", str(path))
    run = dockerd.docker("run", "--rm", "--network=none", "--user", "65534", name, check=False)
    assert (run.returncode, run.stdout) == (0, MESSAGE), run.stderr
    size = dockerd.docker("image", "inspect", "--format", "{{.Size}}", name).stdout
    assert int(size) == oci.size_metrics(image).docker_classic == len(_entry(image))
    dockerd.docker("rmi", "-f", name, check=False)


def test_containerd_imports_and_runs_it(built: tuple[str, Path, oci.Image], containerd: Containerd) -> None:
    name, path, image = built
    platform = str(image.platform)
    containerd.ctr("images", "import", "--platform", platform, str(path))
    container_id = "accept-" + name.rsplit(":", 1)[1]
    run = containerd.ctr("run", "--rm", "--platform", platform, name, container_id, check=False)
    assert (run.returncode, run.stdout) == (0, MESSAGE), run.stderr
    listing = containerd.ctr("images", "ls").stdout.decode()
    assert name in listing
    containerd.ctr("images", "rm", name, check=False)


def test_skopeo_reads_the_dual_tar_and_the_oci_dir(
    built: tuple[str, Path, oci.Image], tmp_path: Path
) -> None:
    name, path, image = built
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci-archive:{path}"], capture_output=True, check=True
    ).stdout
    assert raw == image.manifest_bytes
    config = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--config", f"docker-archive:{path}"], capture_output=True, check=True
        ).stdout
    )
    assert config["architecture"] == image.platform.architecture
    layout = store.write_oci_dir(image, tmp_path / "layout", name)
    tag = name.rsplit(":", 1)[1]  # the oci: transport names images by their ref.name (the tag)
    raw_dir = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{layout}:{tag}"], capture_output=True, check=True
    ).stdout
    assert raw_dir == image.manifest_bytes


def test_building_twice_gives_identical_bytes(built: tuple[str, Path, oci.Image], tmp_path: Path) -> None:
    name, path, image = built
    mode, profile = name.rsplit(":", 1)[1].split("-")[1:]
    _, rebuilt = program_image(MESSAGE, image.platform, mode, profile)
    again = store.write_dual_tar(rebuilt, tmp_path / "again.tar", name)
    assert again.read_bytes() == path.read_bytes()


def _entry(image: oci.Image) -> bytes:
    [descriptor], [layer] = image.manifest.layers, image.layers
    [entry] = oci.layer_entries(layer, descriptor.media_type, keep_data=True)
    assert entry.data is not None
    return entry.data
