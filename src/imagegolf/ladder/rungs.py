"""The seed's ladder, rung by rung, in the post's order; ``build_rung`` builds one of them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from imagegolf.errors import UsageError
from imagegolf.ladder import distro, hostfiles, native, teensy
from imagegolf.ladder.strategy import START_FAILED, PostFigure, RungImage, Strategy
from imagegolf.ladder.tools import Workbench, default_cache_dir
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform

HOST = (LINUX_AMD64,)
GO_PLATFORMS = (LINUX_AMD64, LINUX_386, LINUX_ARM64)
TEENSY_PLATFORMS = (LINUX_386, LINUX_AMD64, LINUX_ARM64)

# The post's figures: docs/ladder.md (sizes as `docker images` showed them, base 1000).
_LADDER = (
    Strategy("distro-echo", "Debian minbase rootfs + echo", distro.distro_echo, HOST,
             PostFigure("ubuntu + CMD echo", 73_900_000), slow=True),
    Strategy("busybox-echo", "static busybox + echo", hostfiles.busybox_echo, HOST,
             PostFigure("busybox", 1_220_000)),
    Strategy("host-echo", "the host's /bin/echo in scratch", hostfiles.host_echo, HOST,
             None, expected=START_FAILED),
    Strategy("go", "Go, static", native.go, GO_PLATFORMS, PostFigure("Go", 1_130_000), slow=True),
    Strategy("go-stripped", 'Go, -ldflags "-s -w"', native.go_stripped, GO_PLATFORMS,
             PostFigure('Go -ldflags "-s -w"', 793_000), slow=True),
    Strategy("go-upx", "Go -s -w + UPX", native.go_upx, GO_PLATFORMS,
             PostFigure("Go -s -w + UPX", 257_000), slow=True),
    Strategy("c-glibc-static", "C, glibc -static", native.c_glibc_static, HOST,
             PostFigure("C++ glibc -static", 872_000)),
    Strategy("c-glibc-upx", "C, glibc -static + UPX", native.c_glibc_upx, HOST,
             PostFigure("C++ glibc -static + UPX", 274_000)),
    Strategy("c-musl-static", "C, musl -static -Os, stripped", native.c_musl_static, HOST,
             PostFigure("C on Alpine (musl) static", 93_300)),
    Strategy("asm-elf64", "nasm -f elf64 + ld", native.asm_elf64, HOST,
             PostFigure("nasm -f elf64 + ld", 9_940)),
    Strategy("asm-elf32-ld", "nasm -f elf + ld -N -s -x + strip", native.asm_elf32_ld, (LINUX_386,),
             PostFigure("nasm -f elf + ld -m elf_i386 -N -s -x + strip", 336)),
    Strategy("teensy", "hand-made ELF", teensy.teensy, TEENSY_PLATFORMS,
             PostFigure('hand-made ELF ("teensy")', 73)),
    Strategy("teensy-modern", "hand-made ELF, modern profile", teensy.teensy_modern, TEENSY_PLATFORMS),
    Strategy("teensy-argv", "hand-made ELF, message in CMD", teensy.teensy_argv, TEENSY_PLATFORMS),
)  # fmt: skip

STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in _LADDER}


def strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UsageError(
            f"no ladder rung named {name!r}", hint="use one of: " + ", ".join(STRATEGIES)
        ) from None


def build_rung(
    name: str,
    message: bytes,
    platform: Platform | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> RungImage:
    """Build rung ``name`` for ``message`` (and ``platform``, default the rung's own).

    ``environ`` is what the toolchains see (its PATH decides which tools are found); the
    cache holds the Debian rootfs and Go's build cache. A missing tool raises ``ToolMissing``.
    """
    chosen = strategy(name)
    target = platform or chosen.default_platform
    if target not in chosen.platforms:
        known = ", ".join(str(p) for p in chosen.platforms)
        raise UsageError(f"rung {name} does not build for {target}", hint=f"use one of: {known}")
    env = dict(os.environ if environ is None else environ)
    cache = cache_dir or default_cache_dir(env)
    with tempfile.TemporaryDirectory(prefix=f"imagegolf-ladder-{name}-") as scratch:
        bench = Workbench(Path(scratch), env, cache)
        return chosen.builder(message, target, bench)
