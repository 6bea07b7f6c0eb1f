"""Indexes as real clients push them: pull, inspect and the judge take what `docker pull` on this
host would, say which and why, never an attestation; `pull --platform all` keeps the whole index."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from imagegolf import oci
from imagegolf.digest import Digest
from imagegolf.elf import build_program
from imagegolf.oci.image import Image
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform
from imagegolf.registry import RegistryClient
from tests.cli.run_cli import cli
from tests.registry.buildx import push_buildx_index
from tests.registry.conftest import PHRASE
from tests.registry_services import DistributionRegistry

Connect = Callable[..., RegistryClient]


def record(platform: Platform) -> Image:
    return oci.build_record_image(build_program(PHRASE, platform), platform)


def test_an_index_gives_this_hosts_platform_and_says_so(
    registry_open: DistributionRegistry, connect: Connect, repo: str, tmp_path: Path
) -> None:
    group = oci.with_shared_index([record(LINUX_386), record(LINUX_ARM64), record(LINUX_AMD64)])
    connect(registry_open).push_images(repo, group, "multi")
    ref = f"{registry_open.host}/{repo}:multi"
    inspected = cli("inspect", ref, "--json")
    assert inspected.code == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    # docker pull on x86-64 takes linux/amd64 though linux/386 comes first in the index.
    assert info["platform"] == "linux/amd64"
    wanted = "the first of the wanted platforms (linux/amd64, linux/386)"
    assert info["chosen"].startswith(f"linux/amd64: {wanted}")
    assert info["index_digest"] == str(Digest.of(group[0].index or b""))
    pulled = cli("pull", ref, "-o", str(tmp_path / "pulled.tar"))
    assert "took linux/amd64 from the index (linux/amd64: the first of the wanted" in pulled.stderr
    spellings = (("aarch64", "linux/arm64/v8"), ("i386", "linux/386"), ("x86_64", "linux/amd64"))
    for spelled, expected in spellings:
        chosen = json.loads(cli("inspect", ref, "--platform", spelled, "--json").stdout)
        assert chosen["platform"] == expected


def test_an_attestation_is_never_the_image(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    image = record(LINUX_386)
    shaped = push_buildx_index(connect(registry_open), repo, "buildx", image)
    ref = f"{registry_open.host}/{repo}:buildx"
    info = json.loads(cli("inspect", ref, "--json").stdout)
    assert info["manifest_digest"] == str(image.manifest_digest)
    assert info["index_digest"] == str(shaped.digest)
    assert "1 attestation manifest never chosen" in info["chosen"]


def test_the_judge_pins_the_pushed_index_digest(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    image = record(LINUX_386)
    shaped = push_buildx_index(connect(registry_open), repo, "buildx", image)
    pinned = f"{registry_open.host}/{repo}@{shaped.digest}"
    judged = cli("judge", pinned, "--phrase", PHRASE.decode().strip(), "--runs", "1", "--json")
    (result,) = json.loads(judged.stdout)
    assert result["verdict"] == "ACCEPTED", result["reason"]
    assert (result["digest"], result["index_digest"]) == (str(image.manifest_digest), str(shaped.digest))
    # What `docker pull` fetches: the index, then the image's manifest, config and layer.
    assert result["metrics"]["pull_bytes"] == len(shaped.index) + oci.size_metrics(image).pull_bytes


def test_pull_all_keeps_the_whole_index_byte_exact(
    registry_open: DistributionRegistry, connect: Connect, repo: str, tmp_path: Path
) -> None:
    image = record(LINUX_AMD64)
    shaped = push_buildx_index(connect(registry_open), repo, "buildx", image)
    ref = f"{registry_open.host}/{repo}:buildx"
    layout = tmp_path / "layout"
    pulled = cli("pull", ref, "--platform", "all", "--oci-dir", str(layout), "--json")
    assert pulled.code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["index_digest"] == str(shaped.digest)
    local = f"oci:{layout}:buildx"  # the layout names it by its tag (org.opencontainers.image.ref.name)
    raw = subprocess.run(["skopeo", "inspect", "--raw", local], capture_output=True, check=True).stdout
    assert raw == shaped.index
    # Every blob the index reaches is there: skopeo copies the whole of it back, digest unchanged.
    copy = f"docker://{registry_open.host}/{repo}:copied"
    source = local
    subprocess.run(
        ["skopeo", "copy", "--all", "--dest-tls-verify=false", source, copy], capture_output=True, check=True
    )
    again = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", copy], capture_output=True, check=True
    ).stdout
    assert again == shaped.index
