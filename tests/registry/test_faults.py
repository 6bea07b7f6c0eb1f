"""Faults between us and the real registry: a stopped registry, dropped connections, wrong bytes,
429/5xx/404 answers and oversized manifests, injected by a loopback proxy or by stopping the process."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, DigestMismatchError, LimitExceededError
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.oci.limits import Caps
from imagegolf.ref import Reference
from imagegolf.registry import NotFound, RegistryClient, RegistryUnreachable, RetryPolicy
from tests.registry_services import DistributionRegistry, Fault, FaultProxy, free_port

Connect = Callable[..., RegistryClient]


def test_registry_stopped_mid_push_leaves_no_tag_and_a_retry_succeeds(
    own_registry: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    said: list[str] = []

    def stop_before_the_manifest(message: str) -> None:
        said.append(message)
        if message.startswith("putting manifest"):
            own_registry.halt()  # the blobs are in; the process dies before the manifest PUT

    client = connect(own_registry, progress=stop_before_the_manifest)
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as failed:
        client.push_image(repo, hello_image, "v1")
    assert time.monotonic() - started < 10
    assert own_registry.host in str(failed.value) and "tried 4 times" in str(failed.value)
    assert failed.value.exit_code == 3
    assert sum("uploaded" in m for m in said) == 2

    own_registry.start()  # the same storage: the blobs are there, no tag is
    checker = connect(own_registry)
    assert checker.list_tags(repo) == []
    assert checker.head_manifest(repo, "v1") is None
    retried = connect(own_registry).push_image(repo, hello_image, "v1")
    assert (retried.blobs_uploaded, retried.blobs_skipped) == (0, 2)
    pulled = checker.pull_image(Reference.parse(f"{own_registry.host}/{repo}:v1"))
    assert pulled.manifest_bytes == hello_image.manifest_bytes


def test_dropped_connections_on_the_manifest_put_leave_no_tag(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    proxy.add(Fault("PUT", "/manifests/", "drop"))
    with pytest.raises(RegistryUnreachable):
        connect(registry_open, host=proxy.host).push_image(repo, hello_image, "v1")
    assert len(proxy.requests_to("PUT", "/manifests/v1")) == 4  # every attempt was cut
    direct = connect(registry_open)
    assert direct.list_tags(repo) == [] and direct.head_manifest(repo, "v1") is None
    proxy.faults.clear()
    result = connect(registry_open, host=proxy.host).push_image(repo, hello_image, "v1")
    assert result.blobs_skipped == 2 and direct.list_tags(repo) == ["v1"]


def test_a_blob_served_with_wrong_bytes_is_refused(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    connect(registry_open).push_image(repo, hello_image, "v1")
    ref = Reference.parse(f"{proxy.host}/{repo}:v1")
    layer = Digest.of(hello_image.layers[0])
    proxy.add(Fault("GET", f"/blobs/{layer}", "corrupt", times=1))
    with pytest.raises(DigestMismatchError, match=str(layer)):
        connect(registry_open, host=proxy.host).pull_image(ref)
    proxy.add(Fault("GET", f"/blobs/{layer}", "extend", times=1))
    with pytest.raises(DigestMismatchError, match="longer"):
        connect(registry_open, host=proxy.host).pull_image(ref)
    proxy.add(Fault("GET", "/manifests/v1", "corrupt", times=1))  # the registry's digest header disagrees
    with pytest.raises(DigestMismatchError, match="manifest"):
        connect(registry_open, host=proxy.host).pull_image(ref)
    assert connect(registry_open, host=proxy.host).pull_image(ref).layers == hello_image.layers


def test_429_with_retry_after_is_waited_for(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    connect(registry_open).push_image(repo, hello_image, "v1")
    proxy.add(Fault("GET", "/manifests/v1", "status", status=429, headers={"Retry-After": "1"}, times=1))
    client = connect(registry_open, host=proxy.host, retry=RetryPolicy())
    client.transport.base_url  # noqa: B018 - choose the scheme before timing
    started = time.monotonic()
    raw, _ = client.get_manifest(repo, "v1")
    waited = time.monotonic() - started
    assert raw == hello_image.manifest_bytes
    seen = proxy.requests_to("GET", "/manifests/v1")
    assert [s.status for s in seen] == [429, 200]
    assert seen[1].at - seen[0].at >= 0.95 and waited < 3


def test_5xx_twice_then_ok_succeeds(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    connect(registry_open).push_image(repo, hello_image, "v1")
    proxy.add(Fault("GET", "/manifests/v1", "status", status=503, times=2))
    layer = Digest.of(hello_image.layers[0])
    proxy.add(Fault("GET", f"/blobs/{layer}", "status", status=500, times=1))
    pulled = connect(registry_open, host=proxy.host).pull_image(Reference.parse(f"{proxy.host}/{repo}:v1"))
    assert pulled.manifest_bytes == hello_image.manifest_bytes
    assert [s.status for s in proxy.requests_to("GET", "/manifests/v1")] == [503, 503, 200]
    assert [s.status for s in proxy.requests_to("GET", f"/blobs/{layer}")] == [500, 200]
    proxy.add(Fault("PUT", "/blobs/uploads/", "status", status=502, times=1))  # an upload restarts whole
    assert connect(registry_open, host=proxy.host).upload_blob(repo, b"after a 502") == Digest.of(
        b"after a 502"
    )
    assert len(proxy.requests_to("POST", "/blobs/uploads/")) == 2


def test_5xx_forever_gives_up(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str
) -> None:
    proxy.add(Fault("GET", "/manifests/", "status", status=503))
    with pytest.raises(RegistryUnreachable, match="503"):
        connect(registry_open, host=proxy.host).get_manifest(repo, "v1")
    assert len(proxy.requests_to("GET", "/manifests/")) == 4


def test_404_is_not_retried(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str
) -> None:
    with pytest.raises(NotFound) as missing:
        connect(registry_open, host=proxy.host).get_manifest(repo, "absent")
    assert missing.value.status == 404
    assert [s.status for s in proxy.requests_to("GET", "/manifests/absent")] == [404]


def test_a_huge_manifest_is_refused_while_streaming(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    proxy.add(Fault("GET", "/manifests/", "stream", headers={"Content-Type": media.OCI_MANIFEST}))
    started = time.monotonic()
    with pytest.raises(LimitExceededError, match="still streaming"):
        connect(registry_open, host=proxy.host).pull_image(Reference.parse(f"{proxy.host}/{repo}:v1"))
    assert time.monotonic() - started < 10
    assert proxy.streamed_bytes < 64 * 1024 * 1024  # of 1 GiB offered
    # A real manifest over a smaller cap is refused too, from its Content-Length.
    connect(registry_open).push_image(repo, hello_image, "v1")
    small = connect(registry_open, caps=Caps(manifest_bytes=200, index_bytes=200))
    with pytest.raises(LimitExceededError, match="344"):
        small.get_manifest(repo, "v1")


def test_an_unknown_manifest_media_type_is_refused(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str
) -> None:
    schema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    proxy.add(Fault("GET", "/manifests/", "status", status=200, headers={"Content-Type": schema1}))
    with pytest.raises(BadInputError, match="not an image manifest or index"):
        connect(registry_open, host=proxy.host).pull_image(Reference.parse(f"{proxy.host}/{repo}:v1"))


def test_nothing_listening_is_unreachable(connect: Connect, registry_open: DistributionRegistry) -> None:
    client = connect(registry_open, host=f"127.0.0.1:{free_port()}")
    with pytest.raises(RegistryUnreachable, match="tried 4 times") as failed:
        client.ping()
    assert failed.value.exit_code == 3 and failed.value.hint
