"""A stand-in for the registry the hook asks before it records a notification: it holds the tags
a test puts in it. For fast endpoint tests only; the real docker-registry is asked in
tests/contest/test_identity.py and tests/contest/test_not_entries.py."""

from __future__ import annotations

import json

from imagegolf.digest import Digest
from imagegolf.registry import NotFound
from imagegolf.registry.protocol import NotModified

IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# The digest of tests/web/data/registry_manifest_push.json (a real push notification's).
SAMPLE_DIGEST = "sha256:bd041d43b2e8aed709f71887a968f7b117a00c8b58e46a4e91c2afa3ff6ecdff"


class HeldRegistry:
    def __init__(self, held: dict[tuple[str, str], str] | None = None) -> None:
        self.held = dict(held or {})
        self.asked: list[tuple[str, str]] = []
        self.down = False

    def hold(self, repository: str, tag: str, digest: str) -> None:
        self.held[(repository, tag)] = digest

    def head_manifest_if_changed(
        self, repository: str, reference: str, known: Digest | None
    ) -> tuple[Digest, str, int] | NotModified | None:
        from imagegolf.registry import RegistryUnreachable

        self.asked.append((repository, reference))
        if self.down:
            raise RegistryUnreachable("cannot reach the registry (a test took it down)")
        if reference.startswith("sha256:"):  # by digest: held under any tag of the repository
            held = {d for (r, _t), d in self.held.items() if r == repository}
            digest = reference if reference in held else None
        else:
            digest = self.held.get((repository, reference))
        return None if digest is None else (Digest.parse(digest), IMAGE_MANIFEST, 400)

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        if reference not in self.held.values():
            raise NotFound(f"{repository}@{reference}: no such manifest")
        manifest = {
            "schemaVersion": 2,
            "mediaType": IMAGE_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": reference,
                "size": 2,
            },
            "layers": [],
        }
        return json.dumps(manifest).encode(), IMAGE_MANIFEST
