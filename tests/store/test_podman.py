"""podman (containers/storage + Go's tar) loads our dual tar, runs it, and agrees on sizes."""

from __future__ import annotations

from pathlib import Path

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from imagegolf.platform import LINUX_AMD64, Wanted
from tests.services import Podman
from tests.store.conftest import MULTI_NAME

NAME = "localhost/igtest/podman:v1"


def load(podman: Podman, image: Image, tmp_path: Path) -> None:
    archive = store.write_dual_tar(image, tmp_path / "img.tar", NAME)
    out = podman.podman("load", "-i", str(archive)).stdout.decode()
    assert NAME in out


def inspect(podman: Podman, template: str) -> str:
    return podman.podman("image", "inspect", "--format", template, NAME).stdout.decode().strip()


def test_podman_loads_and_runs_the_record_image(
    fresh_podman: Podman, record_image: Image, tmp_path: Path
) -> None:
    load(fresh_podman, record_image, tmp_path)
    assert inspect(fresh_podman, "{{.Digest}}") == str(record_image.manifest_digest)
    assert inspect(fresh_podman, "{{.Id}}") == record_image.config.digest.hex
    assert int(inspect(fresh_podman, "{{.Size}}")) == size_metrics(record_image).podman
    run = fresh_podman.podman("run", *fresh_podman.run_args(), NAME, check=False)
    assert run.returncode == 0, run.stderr.decode()


def test_podman_size_of_a_multi_file_image(
    fresh_podman: Podman, multi_file_image: Image, tmp_path: Path
) -> None:
    load(fresh_podman, multi_file_image, tmp_path)
    assert int(inspect(fresh_podman, "{{.Size}}")) == size_metrics(multi_file_image).podman
    run = fresh_podman.podman("run", *fresh_podman.run_args(), NAME, check=False)
    assert run.returncode == 0, run.stderr.decode()


def test_we_read_what_podman_saves(fresh_podman: Podman, multi_file_image: Image, tmp_path: Path) -> None:
    load(fresh_podman, multi_file_image, tmp_path)
    expected = size_metrics(multi_file_image)
    for fmt, kind in (("oci-archive", store.OCI_ARCHIVE), ("docker-archive", store.DOCKER_ARCHIVE)):
        saved = tmp_path / f"{fmt}.tar"
        fresh_podman.podman("save", "--format", fmt, "-o", str(saved), NAME)
        assert store.detect_source_kind(saved) == kind
        image = store.read_source(saved)
        assert image.config.diff_ids == multi_file_image.config.diff_ids
        assert image.platform == multi_file_image.platform
        assert image.manifest_synthesized == (kind == store.DOCKER_ARCHIVE)
        assert size_metrics(image).docker_classic == expected.docker_classic


def test_podman_counts_the_index_it_loaded_through(
    fresh_podman: Podman, multi_platform_tar: tuple[Path, Image]
) -> None:
    path, amd64 = multi_platform_tar
    assert store.read_source(path, Wanted.named((LINUX_AMD64,))) == amd64
    fresh_podman.podman("load", "-i", str(path))
    template = "{{.Size}} {{.Digest}} {{.Architecture}}"
    out = fresh_podman.podman("image", "inspect", "--format", template, MULTI_NAME).stdout.decode().split()
    assert out == [str(size_metrics(amd64).podman), str(Digest.of(amd64.index or b"")), "amd64"]
