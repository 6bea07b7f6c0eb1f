"""Image configs (image-spec config.md): the builder writes only what engines need (docs/judge.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imagegolf.digest import Digest
from imagegolf.errors import BadInputError
from imagegolf.oci.canonical import canonical_json, parse_json_object
from imagegolf.oci.descriptor import parse_platform
from imagegolf.oci.limits import DEFAULT_CAPS, Caps, check_cap
from imagegolf.platform import Platform


@dataclass(frozen=True)
class ImageConfig:
    """A parsed config: platform, layer diff_ids, what runs; ``raw`` is the exact bytes."""

    raw: bytes
    platform: Platform
    diff_ids: tuple[Digest, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    process: dict[str, Any]  # the whole "config" object (Env, WorkingDir, User …) for the judge

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    @property
    def argv(self) -> tuple[str, ...]:
        """What the engine executes: Entrypoint followed by Cmd."""
        return (self.entrypoint or ()) + (self.cmd or ())


def build_config(
    platform: Platform,
    diff_ids: Sequence[Digest],
    *,
    cmd: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
) -> bytes:
    """Config bytes: architecture, os, variant (when the platform has one), rootfs and the process.

    ``created``, ``history`` and ``Env`` are left out: engines run an image without them
    (docs/oci.md; image-spec config.md marks them OPTIONAL).
    """
    if not cmd and not entrypoint:
        raise BadInputError("an image needs a Cmd or an Entrypoint to run")
    process: dict[str, list[str]] = {}
    if entrypoint:
        process["Entrypoint"] = list(entrypoint)
    if cmd:
        process["Cmd"] = list(cmd)
    body: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": process,
        "rootfs": {"type": "layers", "diff_ids": [str(d) for d in diff_ids]},
    }
    if platform.variant:
        body["variant"] = platform.variant
    return canonical_json(body)


def parse_config(raw: bytes, *, caps: Caps = DEFAULT_CAPS) -> ImageConfig:
    """Parse config bytes after checking their size; the raw bytes are kept as they came."""
    body = parse_json_object(raw, cap=caps.config_bytes, what="the image config")
    platform = parse_platform(body, "the image config")
    rootfs = body.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise BadInputError('the image config has no rootfs of type "layers"')
    diff_ids_json = rootfs.get("diff_ids")
    if not isinstance(diff_ids_json, list) or not all(isinstance(d, str) for d in diff_ids_json):
        raise BadInputError("the image config's rootfs.diff_ids is not a list of digests")
    check_cap(len(diff_ids_json), caps.layer_count, "the number of diff_ids")
    process = body.get("config") or {}
    if not isinstance(process, dict):
        raise BadInputError("the image config's config field is not an object")
    return ImageConfig(
        raw,
        platform,
        tuple(Digest.parse(d) for d in diff_ids_json),
        _argv(process.get("Entrypoint"), "Entrypoint"),
        _argv(process.get("Cmd"), "Cmd"),
        process,
    )


def _argv(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(arg, str) for arg in value):
        raise BadInputError(f"the image config's {what} is not a list of strings")
    return tuple(value)
