"""Container engine adapter: one Docker Engine API code path for dockerd and podman.

``Engine`` is the seam (engine/protocol.py): what the judge, the contest and the ladder ask of an
engine. ``connect()`` finds one (``DOCKER_HOST``, the Docker socket, podman's socket) or starts
podman's Docker-compatible service on a private socket, and yields the real adapter
(``DockerApiEngine``), which loads image archives and runs containers under a fixed, hardened
:class:`RunSpec`. The docker SDK is imported only when ``connect``, ``private_podman`` or
``DockerApiEngine`` is first used (it takes ~150 ms to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf import lazy
from imagegolf.engine.protocol import Engine, ImageRefused, RunResult, StoredSize
from imagegolf.engine.sandbox import RunSpec

if TYPE_CHECKING:
    from imagegolf.engine.client import DockerApiEngine
    from imagegolf.engine.discovery import connect, private_podman

HOMES = {
    "DockerApiEngine": "imagegolf.engine.client",
    "connect": "imagegolf.engine.discovery",
    "private_podman": "imagegolf.engine.discovery",
}
__getattr__ = lazy.exports(__name__, HOMES)

__all__ = [
    "DockerApiEngine",
    "Engine",
    "ImageRefused",
    "RunResult",
    "RunSpec",
    "StoredSize",
    "connect",
    "private_podman",
]
