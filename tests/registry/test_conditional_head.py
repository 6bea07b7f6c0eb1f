"""HEAD with If-None-Match against Debian's docker-registry (distribution 2.8), in all four set-ups.

distribution resolves the tag, then compares the digest with each If-None-Match header whole
(quoted or bare: registry/handlers/manifests.go ``etagMatch``) and answers 304 before it reads the
manifest; the 304 carries no Docker-Content-Digest. A different digest is answered 200 as usual.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.registry import RegistryClient
from imagegolf.registry.protocol import MANIFEST_ACCEPT, NOT_MODIFIED
from tests.registry_services import DistributionRegistry

Connect = Callable[..., RegistryClient]
ELSEWHERE = Digest.of(b"not this manifest")


def test_the_known_digest_is_not_modified_another_is_answered_and_a_missing_tag_is_none(
    any_registry: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    client = connect(any_registry)
    pushed = client.push_image(repo, hello_image, "amy").digest
    head = client.head_manifest(repo, "amy")
    assert head is not None and head[0] == pushed
    assert client.head_manifest_if_changed(repo, "amy", pushed) is NOT_MODIFIED
    assert client.head_manifest_if_changed(repo, "amy", ELSEWHERE) == head
    assert client.head_manifest_if_changed(repo, "amy", None) == head
    assert client.head_manifest_if_changed(repo, "nobody", pushed) is None
    assert client.head_manifest_if_changed(repo, str(pushed), pushed) is NOT_MODIFIED  # by digest too


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ('"{d}"', 304),  # what imagegolf sends
        ("{d}", 304),  # bare: distribution accepts it too
        ('W/"{d}"', 200),  # a weak tag is not compared
        ('"{d}", "sha256:0"', 200),  # nor a list: each header is compared whole
        ("*", 200),
    ],
)
def test_what_distribution_2_8_answers_to_if_none_match(
    registry_open: DistributionRegistry,
    connect: Connect,
    repo: str,
    hello_image: Image,
    value: str,
    status: int,
) -> None:
    digest = connect(registry_open).push_image(repo, hello_image, "amy").digest
    url = f"http://{registry_open.host}/v2/{repo}/manifests/amy"
    plain = requests.head(url, headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    assert plain.headers["Etag"] == f'"{digest}"' and plain.headers["Docker-Content-Digest"] == str(digest)
    answer = requests.head(
        url, headers={"Accept": MANIFEST_ACCEPT, "If-None-Match": value.format(d=digest)}, timeout=10
    )
    assert answer.status_code == status
    if status == 304:
        assert "Docker-Content-Digest" not in answer.headers and "Etag" not in answer.headers


def test_the_tag_list_has_no_validator(
    registry_open: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    """distribution 2.8 sends no ETag or Last-Modified with a tag list and ignores If-None-Match."""
    connect(registry_open).push_image(repo, hello_image, "amy")
    url = f"http://{registry_open.host}/v2/{repo}/tags/list"
    listed = requests.get(url, timeout=10)
    assert "Etag" not in listed.headers and "Last-Modified" not in listed.headers
    conditions = {"If-None-Match": '"anything"', "If-Modified-Since": listed.headers["Date"]}
    again = requests.get(url, headers=conditions, timeout=10)
    assert again.status_code == 200 and again.json() == {"name": repo, "tags": ["amy"]}
