"""Container engine adapter: one Docker Engine API code path for dockerd and podman.

``connect()`` finds an engine (``DOCKER_HOST``, the Docker socket, podman's socket) or
starts podman's Docker-compatible service on a private socket; ``Engine`` loads image
archives and runs containers under a fixed, hardened :class:`RunSpec`.
"""

from imagegolf.engine.client import Engine, ImageRefused, RunResult
from imagegolf.engine.discovery import connect, private_podman
from imagegolf.engine.sandbox import RunSpec

__all__ = ["Engine", "ImageRefused", "RunResult", "RunSpec", "connect", "private_podman"]
