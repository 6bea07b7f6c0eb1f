"""Canonical JSON, config, manifest and index builders and parsers."""

from __future__ import annotations

import json

import pytest

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.oci import media
from imagegolf.oci.canonical import canonical_json
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.limits import Caps
from imagegolf.oci.manifest import build_index, build_manifest, parse_index, parse_manifest
from imagegolf.oci.resolve import choose_manifest
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64

DIFF_ID = Digest.of(b"layer")


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": ["é", {"d": 2, "c": None}]})
        == '{"a":["é",{"c":null,"d":2}],"b":1}'.encode()
    )


def test_config_has_only_what_engines_need() -> None:
    raw = build_config(LINUX_386, [DIFF_ID], cmd=["/a"])
    assert json.loads(raw) == {
        "architecture": "386",
        "os": "linux",
        "config": {"Cmd": ["/a"]},
        "rootfs": {"type": "layers", "diff_ids": [str(DIFF_ID)]},
    }
    assert raw == canonical_json(json.loads(raw))


def test_config_variant_and_entrypoint_round_trip() -> None:
    raw = build_config(LINUX_ARM64, [DIFF_ID], entrypoint=["/a"], cmd=["hi"])
    config = parse_config(raw)
    assert config.raw == raw and config.platform == LINUX_ARM64
    assert config.argv == ("/a", "hi") and config.diff_ids == (DIFF_ID,)
    with pytest.raises(BadInputError, match="Cmd or an Entrypoint"):
        build_config(LINUX_386, [DIFF_ID])


def test_manifest_leaves_out_its_own_media_type_by_default() -> None:
    config = Descriptor.of(media.OCI_CONFIG, b"{}")
    layer = Descriptor.of(media.OCI_LAYER_GZIP, b"gz")
    raw = build_manifest(config, [layer])
    assert "mediaType" not in json.loads(raw)
    assert (
        json.loads(build_manifest(config, [layer], media_type_field=True))["mediaType"] == media.OCI_MANIFEST
    )
    parsed = parse_manifest(raw)
    assert parsed.raw == raw and parsed.media_type == media.OCI_MANIFEST
    assert parsed.config == config and parsed.layers == (layer,)


def test_parsers_keep_foreign_bytes_untouched() -> None:
    config = Descriptor.of(media.DOCKER_CONFIG, b"{}").to_json()
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": media.DOCKER_MANIFEST, "config": config, "layers": []}, indent=3
    ).encode()
    parsed = parse_manifest(raw)
    assert (
        parsed.raw == raw and parsed.digest == Digest.of(raw) and parsed.media_type == media.DOCKER_MANIFEST
    )


def test_parsers_check_caps_before_parsing() -> None:
    with pytest.raises(LimitExceededError):
        parse_manifest(b"[" * 100, caps=Caps(manifest_bytes=50))
    with pytest.raises(LimitExceededError):
        parse_config(b" " * 100 + b"{}", caps=Caps(config_bytes=50))
    with pytest.raises(BadInputError, match="not valid JSON"):
        parse_manifest(b"{")
    with pytest.raises(BadInputError, match="schemaVersion 2"):
        parse_manifest(b'{"schemaVersion":1}')


def test_manifest_media_type_must_agree_with_its_descriptor() -> None:
    raw = build_manifest(Descriptor.of(media.OCI_CONFIG, b"{}"), [], media_type_field=True)
    with pytest.raises(BadInputError, match="descriptor says"):
        parse_manifest(raw, media_type=media.DOCKER_MANIFEST)
    with pytest.raises(BadInputError, match="expected an image manifest"):
        parse_manifest(build_index([]))


def test_index_chooses_a_platform() -> None:
    entries = [
        Descriptor(media.OCI_MANIFEST, Digest.of(b"x"), 1, platform=LINUX_AMD64),
        Descriptor(media.OCI_MANIFEST, Digest.of(b"y"), 1, platform=LINUX_386),
        Descriptor(media.OCI_MANIFEST, Digest.of(b"z"), 1, platform=LINUX_ARM64),
    ]
    index = parse_index(build_index(entries))
    assert choose_manifest(index, [LINUX_386]).descriptor.digest == Digest.of(b"y")
    assert choose_manifest(index, [LINUX_ARM64]).descriptor.digest == Digest.of(b"z")
    with pytest.raises(BadInputError, match="name the platform to take"):
        choose_manifest(index, [])
    single = parse_index(build_index(entries[:1], media_type_field=False))
    assert choose_manifest(single, []).descriptor.digest == Digest.of(b"x")


def test_descriptor_rejects_bad_fields() -> None:
    with pytest.raises(BadInputError, match="size"):
        Descriptor.from_json({"mediaType": "x", "digest": str(DIFF_ID), "size": -1}, "d")
    with pytest.raises(BadInputError, match="digest"):
        Descriptor.from_json({"mediaType": "x", "digest": "md5:00", "size": 1}, "d")
