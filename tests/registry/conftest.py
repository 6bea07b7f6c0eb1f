"""Registry tests: four real registries (open, basic, TLS, token) for the session, the record
image, a fresh podman store per test, fault proxies and registries a test may stop."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from imagegolf.elf import build_program
from imagegolf.oci import build_record_image
from imagegolf.oci.image import Image
from imagegolf.platform import LINUX_386
from imagegolf.registry import RegistryClient, RetryPolicy, open_registry
from tests.registry_services import DistributionRegistry, FaultProxy, started

PHRASE = b"hello IDBS engineering\n"
KINDS = ("open", "basic", "tls", "token")
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2)


@pytest.fixture
def own_registry() -> Iterator[DistributionRegistry]:
    """An open registry for this test alone (it may stop and restart it)."""
    yield from started("open")


@pytest.fixture
def proxy(registry_open: DistributionRegistry) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the open registry, for this test alone."""
    service = FaultProxy(registry_open.host)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., RegistryClient]]:
    """open_registry for a registry set-up (its credentials, CA); every client is closed afterwards."""
    clients: list[RegistryClient] = []

    def make(registry: DistributionRegistry, *, host: str | None = None, **overrides: Any) -> RegistryClient:
        kwargs = {"retry": FAST_RETRY, **registry.open_kwargs(), **overrides}
        client = open_registry(host or registry.host, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def repo() -> str:
    """A repository name no other test uses."""
    return f"igtest/r{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def hello_image() -> Image:
    """The record image printing the phrase (linux/386, 71-byte ELF)."""
    return build_record_image(build_program(PHRASE, LINUX_386), LINUX_386)
