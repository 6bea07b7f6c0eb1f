"""Docker Engine 20.10 (classic overlay2 store) loads our dual tar and reports docker_classic."""

from __future__ import annotations

from pathlib import Path

from imagegolf import store
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from tests.services import Dockerd


def test_docker_load_and_classic_size(
    dockerd: Dockerd, record_image: Image, multi_file_image: Image, tmp_path: Path
) -> None:
    for number, image in enumerate((record_image, multi_file_image)):
        name = f"localhost/igtest/docker{number}-{image.manifest_digest.short}:v1"
        archive = store.write_dual_tar(image, tmp_path / f"img{number}.tar", name)
        assert name in dockerd.docker("load", "-i", str(archive)).stdout.decode()
        inspect = (
            dockerd.docker("image", "inspect", "--format", "{{.Id}} {{.Size}}", name).stdout.decode().split()
        )
        assert inspect == [str(image.config.digest), str(size_metrics(image).docker_classic)]
        run = dockerd.docker("run", "--rm", "--network=none", name, check=False)
        assert run.returncode == 0, run.stderr.decode()
        saved = tmp_path / f"saved{number}.tar"
        dockerd.docker("save", "-o", str(saved), name)
        assert store.detect_source_kind(saved) == store.DOCKER_ARCHIVE  # classic save: no OCI layout
        again = store.read_source(saved)
        assert again.config_bytes == image.config_bytes and again.manifest_synthesized
        assert size_metrics(again).docker_classic == size_metrics(image).docker_classic
