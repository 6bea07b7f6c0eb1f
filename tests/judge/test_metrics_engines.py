"""The judge's scores equal what the engines show, for two-layer images with files, directories,
symlinks, hard links, an overwritten file and whiteouts (docs/oci.md):
docker_classic = `docker image inspect .Size` (dockerd 20.10, overlay2), podman = podman's Size
(fresh store), containerd_content = `ctr images ls`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegolf import store
from imagegolf.judge import JudgeOptions, local_fetch
from imagegolf.judge.host import current_host
from imagegolf.judge.screen import Candidate, screen
from imagegolf.oci.image import Image
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.platform import LINUX_386
from tests.cli.run_cli import cli
from tests.judge.images import PHRASE, layered_image
from tests.oci.payloads import TEENSY_EXIT_0
from tests.services import Containerd, Dockerd, Podman
from tests.store.test_containerd import assert_ctr_size, ctr_image_row

LOWER = [
    TarEntry.directory("bin"),
    TarEntry.file("bin/prog", TEENSY_EXIT_0 + bytes(1000), 0o755),
    TarEntry.hardlink("bin/again", "bin/prog"),
    TarEntry.symlink("prog", "bin/prog"),
    TarEntry.directory("etc"),
    TarEntry.file("etc/motd", b"hello\n" * 300, 0o644),
    TarEntry.file("etc/empty", b"", 0o644),
    TarEntry.directory("var"),
    TarEntry.directory("var/lib"),
    TarEntry.file("var/lib/state", b"s" * 4097, 0o600),
]
UPPER = [
    TarEntry.directory("etc"),
    TarEntry.file("etc/motd", b"bye\n", 0o644),  # overwritten: the upper layer counts its own copy
    TarEntry.file("etc/.wh.empty", b"", 0o644),  # whiteout: 0 bytes
    TarEntry.file("etc/new", b"n" * 777, 0o644),
    TarEntry.hardlink("etc/new-again", "etc/new"),
    TarEntry.symlink("link", "/etc/new"),
    TarEntry.directory("var"),
    TarEntry.file("var/.wh..wh..opq", b"", 0o644),  # opaque directory
    TarEntry.file("var/fresh", b"f" * 10, 0o644),
]
# TEENSY_EXIT_0 is an i386 program: the config must say so (judge/platform_check.py).
IMAGES = {
    "gzip-standard": layered_image([LOWER, UPPER], ["/prog"], platform=LINUX_386),
    "plain-compact": layered_image(
        [LOWER, UPPER], ["/prog"], compress=False, compact=True, platform=LINUX_386
    ),
    "gzip-three": layered_image(
        [LOWER, UPPER, [TarEntry.file("bin/prog", TEENSY_EXIT_0, 0o755)]], ["/prog"], platform=LINUX_386
    ),
}


@pytest.fixture(params=sorted(IMAGES))
def judged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, Image, Candidate]:
    name = request.param
    image = IMAGES[name]
    path = store.write_dual_tar(image, tmp_path / f"{name}.tar", f"localhost/igtest/metrics-{name}:v1")
    candidate = screen(str(path), local_fetch, JudgeOptions(PHRASE), current_host())
    assert isinstance(candidate, Candidate), candidate
    inspected = json.loads(cli("inspect", str(path), "--json").text)["metrics"]
    assert inspected == candidate.metrics.as_dict()  # `inspect` and the judge agree
    return name, path, image, candidate


def test_docker_classic_equals_dockerd(dockerd: Dockerd, judged: tuple[str, Path, Image, Candidate]) -> None:
    name, path, _image, candidate = judged
    dockerd.docker("load", "-i", str(path))
    tag = f"localhost/igtest/metrics-{name}:v1"
    size = dockerd.docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.decode().strip()
    dockerd.docker("rmi", tag)
    assert int(size) == candidate.metrics.docker_classic
    lower = 1045 + len("bin/prog") + 1800 + 4097  # hard link once, symlink = its target's length
    upper = 4 + 777 + len("/etc/new") + 10  # whiteouts 0, the hard link once
    assert candidate.metrics.docker_classic == lower + upper + (45 if name == "gzip-three" else 0)


def test_podman_equals_a_fresh_podman_store(
    fresh_podman: Podman, judged: tuple[str, Path, Image, Candidate]
) -> None:
    name, path, _image, candidate = judged
    fresh_podman.podman("load", "-i", str(path))
    tag = f"localhost/igtest/metrics-{name}:v1"
    size = fresh_podman.podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.decode().strip()
    assert int(size) == candidate.metrics.podman


def test_containerd_content_equals_ctr(
    containerd: Containerd, judged: tuple[str, Path, Image, Candidate]
) -> None:
    name, path, image, candidate = judged
    containerd.ctr("images", "import", str(path))
    digest, size, unit = ctr_image_row(containerd, f"localhost/igtest/metrics-{name}:v1")
    assert digest == str(image.manifest_digest)
    assert_ctr_size(size, unit, candidate.metrics.containerd_content)
