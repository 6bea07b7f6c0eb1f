"""validate_image refuses every lie a hostile image can tell about its bytes (docs/judge.md #4–8)."""

from __future__ import annotations

import dataclasses
import gzip

import pytest

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, DigestMismatchError, LimitExceededError
from imagegolf.oci import media
from imagegolf.oci.build import build_record_image
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.image import Image
from imagegolf.oci.limits import Caps
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.tar_write import record_layer_tar
from imagegolf.oci.validate import validate_image
from imagegolf.platform import LINUX_386, LINUX_AMD64
from tests.oci.payloads import RECORD_PAYLOAD


def image_of(layer: bytes, descriptor: Descriptor, diff_id: Digest) -> Image:
    config = build_config(LINUX_386, [diff_id], cmd=["/a"])
    manifest = build_manifest(Descriptor.of(media.OCI_CONFIG, config), [descriptor])
    return Image(parse_manifest(manifest), parse_config(config), (layer,))


TAR = record_layer_tar("a", RECORD_PAYLOAD)
GZ = gzip.compress(TAR, mtime=0)


def test_a_good_image_passes() -> None:
    validate_image(image_of(GZ, Descriptor.of(media.OCI_LAYER_GZIP, GZ), Digest.of(TAR)))
    validate_image(image_of(TAR, Descriptor.of(media.OCI_LAYER, TAR), Digest.of(TAR)))


def test_descriptor_size_and_digest_lies() -> None:
    real = Descriptor.of(media.OCI_LAYER_GZIP, GZ)
    with pytest.raises(DigestMismatchError, match="descriptor says"):
        validate_image(image_of(GZ, dataclasses.replace(real, size=real.size - 1), Digest.of(TAR)))
    with pytest.raises(DigestMismatchError, match="named"):
        validate_image(image_of(GZ, dataclasses.replace(real, digest=Digest.of(b"other")), Digest.of(TAR)))


def test_diff_id_must_be_the_uncompressed_digest() -> None:
    with pytest.raises(DigestMismatchError, match="diff_id"):
        validate_image(image_of(GZ, Descriptor.of(media.OCI_LAYER_GZIP, GZ), Digest.of(GZ)))


def test_media_type_must_match_the_bytes() -> None:
    with pytest.raises(BadInputError, match="holds gzip"):
        validate_image(image_of(GZ, Descriptor.of(media.OCI_LAYER, GZ), Digest.of(TAR)))
    with pytest.raises(BadInputError, match="not gzip"):
        validate_image(image_of(TAR, Descriptor.of(media.OCI_LAYER_GZIP, TAR), Digest.of(TAR)))
    with pytest.raises(BadInputError, match="zstd"):
        validate_image(image_of(TAR, Descriptor.of(media.OCI_LAYER_ZSTD, TAR), Digest.of(TAR)))
    with pytest.raises(BadInputError, match="unknown layer media type"):
        validate_image(image_of(TAR, Descriptor.of("text/plain", TAR), Digest.of(TAR)))


def test_foreign_layers_and_wrong_platform_are_refused() -> None:
    foreign = dataclasses.replace(
        Descriptor.of(media.OCI_LAYER_GZIP, GZ), urls=("https://example.invalid/x",)
    )
    with pytest.raises(BadInputError, match="foreign"):
        validate_image(image_of(GZ, foreign, Digest.of(TAR)))
    with pytest.raises(BadInputError, match="not linux/amd64"):
        validate_image(build_record_image(RECORD_PAYLOAD, LINUX_386), platforms=[LINUX_AMD64])


def test_caps_on_layers() -> None:
    image = build_record_image(RECORD_PAYLOAD, LINUX_386)
    with pytest.raises(LimitExceededError, match="number of layers"):
        validate_image(image, caps=Caps(layer_count=0))
    with pytest.raises(LimitExceededError, match="size of layer 1"):
        validate_image(image, caps=Caps(compressed_bytes=50))
