"""Every request to a registry has a deadline, its answer's body included (registry/transport.py).

A registry that sends one byte at a time, each well within the 60 s read timeout, is cut off at
the deadline; the error names the registry, the request and the deadline, and is not retried.
Debian's docker-registry cannot be made to trickle, so a proxy on 127.0.0.1 stands in front of
the real one (tests/registry_services.py's FaultProxy): it forwards each request and sends the
real answer back, byte by byte where a test asks (over plain HTTP, or over TLS with a
certificate made for the test).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.ref import Reference
from imagegolf.registry import NotFound, RegistryClient, RegistryUnreachable, open_registry
from imagegolf.registry.transport import DEFAULT_DEADLINE, RegistryDeadlineExceeded, Transport
from tests.registry.conftest import FAST_RETRY
from tests.registry_services import DistributionRegistry, Fault, FaultProxy, write_tls_files


@pytest.fixture
def pushed(
    registry_open: DistributionRegistry, connect: Callable[..., RegistryClient], repo: str, hello_image: Image
) -> Image:
    connect(registry_open).push_image(repo, hello_image, "v1")
    return hello_image


@pytest.fixture
def tls_proxy(registry_open: DistributionRegistry, tmp_path: Path) -> Iterator[tuple[FaultProxy, Path]]:
    ca, certificate, key = write_tls_files(tmp_path)
    service = FaultProxy(registry_open.host, tls=(certificate, key))
    try:
        yield service, ca
    finally:
        service.stop()


@pytest.fixture
def through() -> Iterator[Callable[..., RegistryClient]]:
    """A client of a proxy (``http://`` or ``https://`` host) with a deadline of ``deadline`` s."""
    clients: list[RegistryClient] = []

    def make(url: str, deadline: float, **kwargs: Any) -> RegistryClient:
        client = open_registry(url, env={}, retry=FAST_RETRY, **kwargs)
        client.transport.deadline = deadline
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def cut_off(call: Callable[[], object], deadline: float) -> RegistryDeadlineExceeded:
    """The deadline error ``call`` raises, at the deadline and not much later."""
    started = time.monotonic()
    with pytest.raises(RegistryDeadlineExceeded) as failed:
        call()
    took = time.monotonic() - started
    assert deadline - 0.05 <= took < deadline + 2.0, took
    return failed.value


def test_a_trickled_layer_is_cut_off_at_the_deadline_and_not_retried(
    pushed: Image, proxy: FaultProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    layer = Digest.of(pushed.layers[0])
    every = 0.05
    assert len(pushed.layers[0]) * every > 4  # unhindered, the download would take over 4 s
    proxy.add(Fault("GET", f"/blobs/{layer}", "trickle-body", every=every))
    client = through(f"http://{proxy.host}", 1.0)

    error = cut_off(lambda: client.pull_image(Reference.parse(f"{proxy.host}/{repo}:v1")), 1.0)
    assert str(error).startswith(
        f"registry {proxy.host} did not finish GET /v2/{repo}/blobs/{layer} within 1 s"
    )
    assert isinstance(error, RegistryUnreachable) and error.exit_code == 3
    assert len(proxy.requests_to("GET", f"/blobs/{layer}")) == 1  # a deadline is final: no retry

    # The same client, the trickle gone: the shut connection is replaced, the pull completes.
    proxy.faults.clear()
    pulled = client.pull_image(Reference.parse(f"{proxy.host}/{repo}:v1"))
    assert pulled.layers == pushed.layers


def test_a_trickled_answer_head_is_cut_off_at_the_deadline(
    pushed: Image, proxy: FaultProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    proxy.add(Fault("GET", "/manifests/v1", "trickle-head", every=0.05))  # ~250 bytes: 12 s
    client = through(f"http://{proxy.host}", 1.0)
    client.ping()
    error = cut_off(lambda: client.get_manifest(repo, "v1"), 1.0)
    assert f"GET /v2/{repo}/manifests/v1 within 1 s" in str(error)
    assert len(proxy.requests_to("GET", "/manifests/v1")) == 1


def test_a_trickled_error_answer_is_cut_off_not_taken_for_its_status(
    pushed: Image, proxy: FaultProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    proxy.add(Fault("GET", "/manifests/missing", "trickle-body", every=0.05))
    client = through(f"http://{proxy.host}", 1.0)
    client.ping()
    cut_off(lambda: client.get_manifest(repo, "missing"), 1.0)  # body.read_error_body
    proxy.faults.clear()
    with pytest.raises(NotFound):
        client.get_manifest(repo, "missing")


def test_the_deadline_cuts_a_trickle_over_tls(
    pushed: Image,
    tls_proxy: tuple[FaultProxy, Path],
    through: Callable[..., RegistryClient],
    repo: str,
) -> None:
    proxy, ca = tls_proxy
    layer = Digest.of(pushed.layers[0])
    proxy.add(Fault("GET", "/manifests/v1", "trickle-head", every=0.05))
    proxy.add(Fault("GET", f"/blobs/{layer}", "trickle-body", every=0.05))
    client = through(f"https://{proxy.host}", 1.0, ca_bundle=str(ca))
    client.ping()
    assert client.transport.base_url.startswith("https://")
    cut_off(lambda: client.get_manifest(repo, "v1"), 1.0)
    error = cut_off(lambda: client.get_blob(repo, layer, len(pushed.layers[0])), 1.0)
    assert f"GET /v2/{repo}/blobs/{layer}" in str(error)
    proxy.faults.clear()
    assert client.get_blob(repo, layer, len(pushed.layers[0])) == pushed.layers[0]


def test_a_finished_request_leaves_its_connection_alone_when_its_deadline_passes(
    pushed: Image, proxy: FaultProxy, through: Callable[..., RegistryClient], repo: str
) -> None:
    """The first request's deadline passes while a second request, on the same pooled
    connection, is still reading a slow body: the second is not cut, and one TCP connection
    serves everything."""
    layer = pushed.layers[0]
    digest = Digest.of(layer)
    proxy.add(Fault("GET", f"/blobs/{digest}", "trickle-body", every=2.0 / len(layer)))  # 2 s
    client = through(f"http://{proxy.host}", 3.0)
    started = time.monotonic()
    raw, _type = client.get_manifest(repo, "v1")  # its deadline: started + 3 s
    assert raw == pushed.manifest_bytes
    connections = proxy.connections  # (the scheme probe's GET /v2/ included)
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))
    assert client.get_blob(repo, digest, len(layer)) == layer  # 1.5 s → 3.5 s; its deadline: 4.5 s
    assert time.monotonic() - started > 3.0  # the first deadline passed during the download
    assert proxy.connections == connections  # the manifest's connection served the blob, uncut
    assert len(proxy.requests_to("GET", f"/blobs/{digest}")) == 1


def test_every_transport_has_a_deadline_by_default(registry_open: DistributionRegistry) -> None:
    assert DEFAULT_DEADLINE == 120.0
    assert Transport("127.0.0.1:5000").deadline == DEFAULT_DEADLINE
    assert Transport("127.0.0.1:5000", deadline=5.0).deadline == 5.0
    with open_registry(registry_open.host, env={}) as client:
        assert client.transport.deadline == DEFAULT_DEADLINE
        client.ping()  # and a registry that answers at once is not disturbed by it
