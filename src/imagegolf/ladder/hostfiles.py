"""Rungs that copy a host binary into scratch: Debian's static busybox, and the host's own echo."""

from __future__ import annotations

import os

from imagegolf import oci
from imagegolf.errors import UsageError
from imagegolf.ladder.elfinfo import interpreter
from imagegolf.ladder.shapes import echo_arguments
from imagegolf.ladder.strategy import RungImage
from imagegolf.ladder.tools import ToolMissing, Workbench
from imagegolf.platform import Platform


def _host_binary(bench: Workbench, tool: str, platform: Platform) -> tuple[str, bytes]:
    if platform.architecture != "amd64":
        raise UsageError(f"the host's {tool} is a linux/amd64 binary, not {platform}")
    found = bench.which(tool)
    path = os.path.realpath(found)
    with open(path, "rb") as handle:
        data = handle.read()
    bench.log.append(f"$ cp {path} ./{tool}   # {len(data)} bytes")
    return path, data


def busybox_echo(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    path, data = _host_binary(bench, "busybox", platform)
    needs = interpreter(data)
    if needs:
        raise ToolMissing(
            "busybox", f"{path} is dynamically linked (it needs {needs}); the rung needs the static one"
        )
    bench.version("busybox", [path, "--help"])
    image = oci.build_image(
        [oci.TarEntry.file("busybox", data, 0o755)],
        platform,
        cmd=["/busybox", "echo", *echo_arguments(message)],
    )
    return RungImage(
        image, "Debian's static busybox in scratch; CMD busybox echo", bench.log, bench.toolchain
    )


def host_echo(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    path, data = _host_binary(bench, "echo", platform)
    bench.version("echo", [path, "--version"])
    needs = interpreter(data)
    linked = f"dynamically linked: needs {needs}" if needs else "statically linked"
    image = oci.build_image(
        [oci.TarEntry.file("echo", data, 0o755)], platform, cmd=["/echo", *echo_arguments(message)]
    )
    return RungImage(image, f"the host's {path} alone in scratch ({linked})", bench.log, bench.toolchain)
