"""The distribution API against the real registry: uploads, mounts, tags, indexes, auth, TLS."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagegolf.digest import Digest
from imagegolf.elf import build_program
from imagegolf.errors import BadInputError, DigestMismatchError, UsageError
from imagegolf.oci import build_index, build_record_image, media
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.platform import LINUX_386, LINUX_AMD64, Wanted
from imagegolf.ref import Reference
from imagegolf.registry import (
    AuthenticationFailed,
    NotFound,
    RegistryClient,
    RegistryRefused,
    RegistryUnreachable,
)
from tests.registry.conftest import PHRASE
from tests.registry_services import (
    IDENTITY_TOKEN,
    PASSWORD,
    USERNAME,
    DistributionRegistry,
    Fault,
    FaultProxy,
)

Connect = Callable[..., RegistryClient]


def test_chunked_upload_sends_patches_and_the_blob_arrives_whole(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    data = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes: 11 chunks of 1,000 and one of 244
    client = connect(registry_open)
    digest = client.upload_blob(repo, data, chunk_size=1000)
    assert digest == Digest.of(data)
    assert client.head_blob(repo, digest) == len(data)
    assert client.get_blob(repo, digest, len(data)) == data
    empty = client.upload_blob(repo, b"", chunk_size=1000)
    assert client.get_blob(repo, empty, 0) == b""


def test_cross_repository_mount_links_without_upload(
    registry_open: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    client = connect(registry_open)
    client.push_image(repo, hello_image, "v1")
    second = repo + "-copy"
    layer = Digest.of(hello_image.layers[0])
    assert client.head_blob(second, layer) is None
    assert client.mount_blob(second, layer, repo) is True
    assert client.head_blob(second, layer) == len(hello_image.layers[0])
    missing = Digest.of(b"never uploaded")
    assert client.mount_blob(second, missing, repo) is False  # the registry opened an upload instead

    third = repo + "-mounted"
    result = client.push_image(third, hello_image, "v1", mount_from=repo)
    assert (result.blobs_uploaded, result.blobs_mounted, result.blobs_skipped) == (0, 2, 0)
    assert result.bytes_sent == len(hello_image.manifest_bytes)
    assert client.pull_image(Reference.parse(f"{registry_open.host}/{third}:v1")).layers == hello_image.layers


def test_tag_list_follows_pagination(
    registry_open: DistributionRegistry, proxy: FaultProxy, connect: Connect, repo: str, hello_image: Image
) -> None:
    client = connect(registry_open)
    assert client.list_tags(repo) == []  # an unknown repository has no tags
    tags = ["a1", "b2", "c3", "d4", "e5"]
    client.push_image(repo, hello_image, tags[0])
    for tag in tags[1:]:
        client.put_manifest(repo, tag, hello_image.manifest_bytes, hello_image.manifest.media_type)
    # distribution 2.8 answers every tag at once, ignoring n (paging came in distribution 3) …
    assert sorted(client.list_tags(repo, page_size=2)) == tags
    # … so the proxy pages the real list the way the spec says, and the client follows the Links.
    proxy.add(Fault("GET", "/tags/list", "paginate"))
    paged = connect(registry_open, host=proxy.host)
    assert paged.list_tags(repo, page_size=2) == tags
    assert [s.path for s in proxy.requests_to("GET", "/tags/list")] == [
        f"/v2/{repo}/tags/list?n=2",
        f"/v2/{repo}/tags/list?n=2&last=b2",
        f"/v2/{repo}/tags/list?n=2&last=d4",
    ]


def two_platform_images() -> list[Image]:
    images = [
        build_record_image(build_program(PHRASE, LINUX_386), LINUX_386),
        build_record_image(build_program(PHRASE, LINUX_AMD64), LINUX_AMD64),
    ]
    index = build_index(
        [
            Descriptor(media.OCI_MANIFEST, i.manifest_digest, len(i.manifest_bytes), platform=i.platform)
            for i in images
        ]
    )
    return [dataclasses.replace(image, index=index) for image in images]


def test_platform_is_chosen_from_a_two_platform_index(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    images = two_platform_images()
    index = images[0].index
    assert index is not None
    client = connect(registry_open)
    result = client.push_images(repo, images, "multi")
    assert result.digest == Digest.of(index)
    assert result.bytes_sent == len(index) + sum(
        len(i.manifest_bytes) + len(i.config_bytes) + len(i.layers[0]) for i in images
    )
    ref = Reference.parse(f"{registry_open.host}/{repo}:multi")
    assert client.resolve(ref) == (Digest.of(index), media.OCI_INDEX)
    assert client.get_manifest(repo, "multi") == (index, media.OCI_INDEX)
    for platform, expected in zip((LINUX_386, LINUX_AMD64), images, strict=True):
        pulled = client.pull_image(ref, Wanted.named((platform,)))
        assert pulled.platform == platform
        assert pulled.manifest_bytes == expected.manifest_bytes
        assert pulled.index == index
    with pytest.raises(BadInputError, match="index holds 2 images"):
        client.pull_image(ref)
    by_digest = client.pull_image(Reference.parse(f"{registry_open.host}/{repo}@{images[1].manifest_digest}"))
    assert by_digest.index is None and by_digest.platform == LINUX_AMD64


def test_push_image_with_an_index_needs_the_other_platforms(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    images = two_platform_images()
    client = connect(registry_open)
    with pytest.raises(UsageError, match="push every platform image"):
        client.push_image(repo, images[0], "multi")
    assert client.list_tags(repo) == []
    client.push_image(repo, dataclasses.replace(images[1], index=None), None)  # the other one, by digest
    result = client.push_image(repo, images[0], "multi")  # now the index can name both
    assert result.digest == Digest.of(images[0].index or b"")


def test_put_manifest_keeps_bytes_and_refuses_missing_blobs(
    registry_open: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    client = connect(registry_open)
    with pytest.raises(RegistryRefused) as refused:
        client.put_manifest(repo, "v1", hello_image.manifest_bytes, media.OCI_MANIFEST)
    assert refused.value.code == "MANIFEST_BLOB_UNKNOWN"
    assert refused.value.exit_code == 2
    client.push_image(repo, hello_image, None)
    pretty = hello_image.manifest_bytes.replace(b",", b", ")  # same JSON value, other bytes
    digest = client.put_manifest(repo, "pretty", pretty, media.OCI_MANIFEST)
    assert digest == Digest.of(pretty) != hello_image.manifest_digest
    assert client.get_manifest(repo, "pretty") == (pretty, media.OCI_MANIFEST)


def test_missing_things_are_not_found(
    registry_open: DistributionRegistry, connect: Connect, repo: str
) -> None:
    client = connect(registry_open)
    with pytest.raises(NotFound) as missing:
        client.pull_image(Reference.parse(f"{registry_open.host}/{repo}:nope"))
    assert missing.value.code in {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}
    assert client.head_manifest(repo, "nope") is None
    assert client.head_blob(repo, Digest.of(b"x")) is None
    with pytest.raises(NotFound):
        client.get_blob(repo, Digest.of(b"x"))


def test_token_flow_caches_per_scope_and_refreshes_a_rejected_token(
    registry_token: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    issuer = registry_token.issuer
    assert issuer is not None
    client = connect(registry_token)
    client.push_image(repo, hello_image, "v1")
    ref = Reference.parse(f"{registry_token.host}/{repo}:v1")
    client.pull_image(ref)
    before = len(issuer.requests)
    client.pull_image(ref)  # every request of this pull finds its token in the cache
    client.list_tags(repo)
    assert len(issuer.requests) == before
    scopes = {tuple(r["scopes"]) for r in issuer.requests}
    assert (f"repository:{repo}:pull,push",) in scopes and (f"repository:{repo}:pull",) in scopes

    fresh = connect(registry_token)
    fresh.ping()
    issuer.grant_nothing_next = 1  # the next token carries no access: the registry answers 401
    asked = len(issuer.requests)
    assert fresh.pull_image(ref).manifest_bytes == hello_image.manifest_bytes
    assert len(issuer.requests) - asked == 2  # the rejected token, then a fresh one

    issuer.grant_nothing_next = 2  # a refreshed token rejected too: give up with a clear error
    with pytest.raises(AuthenticationFailed, match=registry_token.host):
        connect(registry_token).get_manifest(repo, "v1")
    issuer.grant_nothing_next = 0


def test_token_flow_with_an_identity_token(
    registry_token: DistributionRegistry, connect: Connect, repo: str, hello_image: Image, tmp_path: Path
) -> None:
    connect(registry_token).push_image(repo, hello_image, "v1")
    auths = {"auths": {registry_token.host: {"identitytoken": IDENTITY_TOKEN}}}
    (tmp_path / "config.json").write_text(json.dumps(auths))
    client = connect(registry_token, username=None, password=None, env={"DOCKER_CONFIG": str(tmp_path)})
    assert client.get_manifest(repo, "v1")[0] == hello_image.manifest_bytes
    assert registry_token.issuer is not None
    last = registry_token.issuer.requests[-1]
    assert (last["method"], last["subject"], last["denied"]) == ("POST", USERNAME, False)


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_wrong_or_missing_credentials_fail_naming_registry_and_source(
    kind: str, request: pytest.FixtureRequest, connect: Connect, repo: str
) -> None:
    registry: DistributionRegistry = request.getfixturevalue(f"registry_{kind}")
    wrong = connect(registry, username=USERNAME, password="not-" + PASSWORD)
    with pytest.raises(AuthenticationFailed) as failed:
        wrong.ping()
    assert registry.host in str(failed.value)
    assert "the given username and password" in str(failed.value)
    with pytest.raises(AuthenticationFailed) as by_env:
        connect(
            registry,
            username=None,
            password=None,
            env={"IMAGEGOLF_REGISTRY_USERNAME": USERNAME, "IMAGEGOLF_REGISTRY_PASSWORD": "x" + PASSWORD},
        ).list_tags(repo)
    assert "IMAGEGOLF_REGISTRY_USERNAME" in str(by_env.value)
    with pytest.raises(AuthenticationFailed, match="requires authentication") as anonymous:
        connect(registry, username=None, password=None, env={}).get_manifest(repo, "v1")
    for error in (failed.value, by_env.value, anonymous.value):
        for text in (str(error), repr(error), repr(error.args), error.hint or ""):
            assert PASSWORD not in text
        assert error.__cause__ is None
    assert PASSWORD not in repr(wrong) and PASSWORD not in repr(wrong.auth.credentials)


def test_tls_needs_the_ca_and_never_falls_back_to_http(
    registry_tls: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    connect(registry_tls).push_image(repo, hello_image, "v1")
    untrusting = connect(registry_tls, ca_bundle=None)
    with pytest.raises(RegistryUnreachable, match="certificate") as failed:
        untrusting.ping()
    assert failed.value.exit_code == 3
    insecure = connect(registry_tls, ca_bundle=None, insecure=True)
    assert insecure.get_manifest(repo, "v1")[0] == hello_image.manifest_bytes
    assert insecure.transport.base_url.startswith("https://")


def test_a_blob_with_the_wrong_name_is_refused(
    registry_open: DistributionRegistry, connect: Connect, repo: str, hello_image: Image
) -> None:
    client = connect(registry_open)
    client.push_image(repo, hello_image, "v1")
    layer = hello_image.layers[0]
    with pytest.raises(DigestMismatchError):
        client.get_blob(repo, Digest.of(layer), len(layer) - 1)  # a descriptor that lies about the size
