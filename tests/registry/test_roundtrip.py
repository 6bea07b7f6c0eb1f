"""Push → pull through each real set-up (open, Basic, TLS, token), checked by skopeo and podman."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from imagegolf.ref import Reference
from imagegolf.registry import RegistryClient
from tests.registry.conftest import PHRASE
from tests.registry_services import DistributionRegistry, run_tool
from tests.services import Podman, require


def skopeo(*args: str) -> bytes:
    return run_tool(require("skopeo"), *args).stdout


def test_round_trip_keeps_every_byte(
    any_registry: DistributionRegistry, connect: Callable[..., RegistryClient], repo: str, hello_image: Image
) -> None:
    client = connect(any_registry)
    client.ping()
    assert (
        client.transport.base_url
        == ("https://" if any_registry.kind == "tls" else "http://") + any_registry.host
    )
    result = client.push_image(repo, hello_image, "v1")
    assert result.digest == hello_image.manifest_digest
    assert result.reference == f"{any_registry.host}/{repo}:v1@{hello_image.manifest_digest}"
    assert (result.blobs_uploaded, result.blobs_skipped) == (2, 0)
    assert result.pull_bytes == size_metrics(hello_image).pull_bytes == 623
    assert result.bytes_sent == 623

    pulled = client.pull_image(Reference.parse(f"{any_registry.host}/{repo}:v1"))
    assert pulled.manifest_bytes == hello_image.manifest_bytes
    assert pulled.manifest_digest == hello_image.manifest_digest
    assert pulled.config_bytes == hello_image.config_bytes
    assert pulled.layers == hello_image.layers
    assert pulled.index is None
    assert client.resolve(Reference.parse(f"{any_registry.host}/{repo}:v1")) == (
        hello_image.manifest_digest,
        media.OCI_MANIFEST,
    )
    # Pushing again uploads nothing: every blob is found by HEAD.
    again = client.push_image(repo, hello_image, "v2")
    assert (again.blobs_uploaded, again.blobs_skipped, again.bytes_sent) == (0, 2, 344)
    assert sorted(client.list_tags(repo)) == ["v1", "v2"]


def test_skopeo_sees_exactly_our_manifest(
    any_registry: DistributionRegistry, connect: Callable[..., RegistryClient], repo: str, hello_image: Image
) -> None:
    connect(any_registry).push_image(repo, hello_image, "v1")
    raw = skopeo("inspect", "--raw", *any_registry.tool_flags(), f"docker://{any_registry.host}/{repo}:v1")
    assert raw == hello_image.manifest_bytes
    config = skopeo(
        "inspect", "--raw", "--config", *any_registry.tool_flags(), f"docker://{any_registry.host}/{repo}:v1"
    )
    assert config == hello_image.config_bytes


def test_podman_pulls_and_runs_what_we_pushed(
    any_registry: DistributionRegistry,
    connect: Callable[..., RegistryClient],
    repo: str,
    hello_image: Image,
    fresh_podman: Podman,
) -> None:
    connect(any_registry).push_image(repo, hello_image, "v1")
    name = f"{any_registry.host}/{repo}:v1"
    fresh_podman.podman("pull", "--quiet", *any_registry.tool_flags(), name)
    ran = fresh_podman.podman("run", *fresh_podman.run_args(), name, check=False)
    assert ran.returncode == 0, ran.stderr.decode(errors="replace")
    assert ran.stdout == PHRASE
    image_id = fresh_podman.podman("image", "inspect", "--format", "{{.Digest}}", name).stdout.strip()
    assert image_id.decode() == str(hello_image.manifest_digest)


def test_we_pull_what_skopeo_pushed_byte_for_byte(
    registry_open: DistributionRegistry,
    connect: Callable[..., RegistryClient],
    repo: str,
    hello_image: Image,
    tmp_path: Path,
) -> None:
    layout = store.write_oci_dir(hello_image, tmp_path / "layout", "localhost/igtest/hello:v1")
    destination = f"docker://{registry_open.host}/{repo}"
    skopeo("copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:v1", f"{destination}:as-is")
    skopeo(
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        f"oci:{layout}:v1",
        f"{destination}:v2s2",
    )
    client = connect(registry_open)
    for tag in ("as-is", "v2s2"):
        theirs = skopeo("inspect", "--raw", "--tls-verify=false", f"{destination}:{tag}")
        pulled = client.pull_image(Reference.parse(f"{registry_open.host}/{repo}:{tag}"))
        assert pulled.manifest_bytes == theirs
        assert pulled.manifest_digest == Digest.of(theirs)
        assert pulled.config.diff_ids == hello_image.config.diff_ids
        assert pulled.layers == hello_image.layers
    as_is = client.pull_image(Reference.parse(f"{registry_open.host}/{repo}:as-is"))
    assert as_is.manifest_bytes == hello_image.manifest_bytes  # skopeo kept our bytes
    converted = client.pull_image(Reference.parse(f"{registry_open.host}/{repo}:v2s2"))
    assert converted.manifest.media_type == media.DOCKER_MANIFEST
    assert converted.manifest_bytes != hello_image.manifest_bytes
