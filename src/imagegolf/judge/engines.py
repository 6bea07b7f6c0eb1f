"""The container engines, as the judge's callers reach them: the CLI, the contest and the ladder
get an engine here (the judge owns the one run path), never from the engine adapter directly.

``Engine`` is the protocol callers type against; ``connect`` and ``private_podman`` yield the real
adapter. Those two (and ``DOCKER_SOCKET``) are loaded on first use, with the docker SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf import lazy
from imagegolf.engine.protocol import Engine, ImageRefused, RunResult, StoredSize
from imagegolf.engine.runtimes import RUNC, RUNSC, check_runtime
from imagegolf.engine.sandbox import RunSpec

if TYPE_CHECKING:
    from imagegolf.engine.discovery import DOCKER_SOCKET, connect, private_podman

HOMES = {name: "imagegolf.engine.discovery" for name in ("DOCKER_SOCKET", "connect", "private_podman")}
__getattr__ = lazy.exports(__name__, HOMES)

__all__ = [
    "DOCKER_SOCKET",
    "RUNC",
    "RUNSC",
    "Engine",
    "ImageRefused",
    "RunResult",
    "RunSpec",
    "StoredSize",
    "check_runtime",
    "connect",
    "private_podman",
]
