"""An image loaded into a container engine that keeps it (Docker, or podman's own service), and
the command line that runs it there."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from imagegolf.engine import connect
from imagegolf.engine.discovery import DOCKER_SOCKET
from imagegolf.errors import EnvironmentProblem
from imagegolf.images.archive import tar_bytes
from imagegolf.oci.multi import ImageGroup


class NoEngineToKeep(EnvironmentProblem):
    """No engine runs that would keep a loaded image (a podman started for the occasion would
    take its store, and the image, away with it)."""


@dataclass(frozen=True)
class Loaded:
    name: str  # the image's name in the engine
    run_command: str  # a command line that runs it there, working as printed


def load_into_engine(image: ImageGroup, name: str, environ: Mapping[str, str]) -> Loaded:
    """Load ``image`` as ``name`` into the running engine (DOCKER_HOST, Docker, or podman's
    socket); never into a podman started here."""
    with contextlib.ExitStack() as stack:
        try:
            engine = stack.enter_context(connect(environ, start_podman=False))
        except EnvironmentProblem as problem:
            if environ.get("DOCKER_HOST"):
                raise
            raise NoEngineToKeep(
                "no container engine is running to keep the image",
                hint="start Docker, or podman's API socket (the podman.socket unit); or write a "
                "tar and load it yourself",
            ) from problem
        loaded = engine.load(tar_bytes(image, name))[0]
        kind, url = engine.kind, engine.url
    quoted = shlex.quote(loaded)
    if kind == "docker":
        where = "" if url == f"unix://{DOCKER_SOCKET}" else f"-H {shlex.quote(url)} "
        command = f"docker {where}run --rm {quoted}"
    elif environ.get("DOCKER_HOST"):
        command = f"podman --url {shlex.quote(url)} run --rm {quoted}"
    else:  # podman's own socket: its service keeps the host's default store
        command = f"podman run --rm {quoted}"
    return Loaded(loaded, command)
