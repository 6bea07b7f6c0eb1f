"""Content descriptors (OCI image-spec descriptor.md) as values, to and from JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.platform import Platform

Annotations = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Descriptor:
    """What one blob is, how long it is and what it hashes to."""

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: Annotations = ()
    urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, media_type: str, data: bytes, *, annotations: Annotations = ()) -> Descriptor:
        """The descriptor of exactly these bytes."""
        return cls(media_type, Digest.of(data), len(data), annotations=annotations)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.platform is not None:
            out["platform"] = platform_json(self.platform)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.urls:
            out["urls"] = list(self.urls)
        return out

    @classmethod
    def from_json(cls, value: Any, what: str) -> Descriptor:
        if not isinstance(value, dict):
            raise BadInputError(f"{what} is not a JSON object")
        media_type = value.get("mediaType", "")
        size = value.get("size")
        if not isinstance(media_type, str):
            raise BadInputError(f"{what} has a mediaType that is not a string")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadInputError(f"{what} has no valid size")
        digest = Digest.parse(_string(value.get("digest"), f"{what} digest"))
        platform = parse_platform(value["platform"], f"{what} platform") if "platform" in value else None
        annotations = value.get("annotations") or {}
        urls = value.get("urls") or []
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise BadInputError(f"{what} annotations are not a map of strings")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise BadInputError(f"{what} urls are not a list of strings")
        return cls(media_type, digest, size, platform, tuple(sorted(annotations.items())), tuple(urls))

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


def platform_json(platform: Platform) -> dict[str, str]:
    out = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        out["variant"] = platform.variant
    return out


def parse_platform(value: Any, what: str) -> Platform:
    """A platform from the ``os``/``architecture``/``variant`` fields of a config or descriptor."""
    if not isinstance(value, dict):
        raise BadInputError(f"{what} is not a JSON object")
    os_name = _string(value.get("os"), f"{what} os")
    architecture = _string(value.get("architecture"), f"{what} architecture")
    variant = value.get("variant") or None
    if variant is not None and not isinstance(variant, str):
        raise BadInputError(f"{what} variant is not a string")
    return Platform(os_name, architecture, variant)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadInputError(f"{what} is missing or not a string")
    return value
