"""Platforms spelled as Docker spells them, and the entry of an index `docker pull` would take."""

from __future__ import annotations

import pytest

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, UsageError
from imagegolf.oci import media
from imagegolf.oci.descriptor import Annotations, Descriptor
from imagegolf.oci.manifest import build_index, parse_index
from imagegolf.oci.resolve import choose_manifest
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, LINUX_ARM_V7, Platform

ATTESTATION = (("vnd.docker.reference.digest", "sha256:" + "a" * 64),
               ("vnd.docker.reference.type", "attestation-manifest"))  # fmt: skip


@pytest.mark.parametrize(
    ("spelled", "normal"),
    [
        ("amd64", "linux/amd64"), ("x86_64", "linux/amd64"), ("linux/x86-64", "linux/amd64"),
        ("amd64/v1", "linux/amd64"), ("arm64", "linux/arm64/v8"), ("aarch64", "linux/arm64/v8"),
        ("arm64/v8", "linux/arm64/v8"), ("386", "linux/386"), ("i386", "linux/386"), ("i686", "linux/386"),
        ("arm/v7", "linux/arm/v7"), ("armhf", "linux/arm/v7"), ("arm", "linux/arm/v7"),
        ("arm/6", "linux/arm/v6"), ("armel", "linux/arm/v6"), ("LINUX/AMD64", "linux/amd64"),
        ("ppc64el", "linux/ppc64le"),
    ],
)  # fmt: skip
def test_platforms_normalise_as_docker_does(spelled: str, normal: str) -> None:
    assert str(Platform.parse(spelled)) == normal


@pytest.mark.parametrize("bad", ["windows/amd64", "sparc", "linux/arm/v9", "", "linux/amd64/v1/x"])
def test_unknown_platforms_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        Platform.parse(bad)


def test_a_list_keeps_its_order_without_repeats() -> None:
    assert Platform.parse_list("x86_64, 386,amd64") == (LINUX_AMD64, LINUX_386)


def entry(name: bytes, platform: Platform | None, annotations: Annotations = ()) -> Descriptor:
    return Descriptor(media.OCI_MANIFEST, Digest.of(name), 100, platform, annotations)


INDEX = parse_index(
    build_index(
        [
            entry(b"386", LINUX_386),
            entry(b"arm64", Platform("linux", "arm64")),  # no variant: v8, as Docker reads it
            entry(b"amd64", LINUX_AMD64),
            entry(b"att", Platform("unknown", "unknown"), ATTESTATION),
        ]
    )
)


def test_the_first_wanted_platform_the_index_holds_wins_whatever_the_index_order() -> None:
    choice = choose_manifest(INDEX, [LINUX_AMD64, LINUX_386])
    assert choice.descriptor.digest == Digest.of(b"amd64")
    assert choice.why == (
        "linux/amd64: the first of the wanted platforms (linux/amd64, linux/386) it holds; it also holds "
        "linux/386, linux/arm64; 1 attestation manifest never chosen"
    )
    assert choose_manifest(INDEX, [LINUX_ARM_V7, LINUX_ARM64]).descriptor.digest == Digest.of(b"arm64")


def test_an_attestation_is_never_chosen_even_when_asked_for() -> None:
    with pytest.raises(BadInputError, match="no image for unknown/unknown"):
        choose_manifest(INDEX, [Platform("unknown", "unknown")])
    only = parse_index(build_index([entry(b"att", Platform("unknown", "unknown"), ATTESTATION)]))
    with pytest.raises(BadInputError, match="holds no image, only 1 attestation"):
        choose_manifest(only, [LINUX_AMD64])


def test_without_a_wanted_platform_an_index_must_hold_one_image() -> None:
    with pytest.raises(BadInputError, match="3 images"):
        choose_manifest(INDEX, [])
    single = parse_index(build_index([entry(b"amd64", LINUX_AMD64), entry(b"att", None, ATTESTATION)]))
    choice = choose_manifest(single, [])
    assert choice.descriptor.digest == Digest.of(b"amd64") and choice.made  # the attestation was passed over
