"""Rungs built from the ladder's own sources with host toolchains: Go, C (glibc, musl), nasm."""

from __future__ import annotations

from imagegolf.errors import UsageError
from imagegolf.ladder.shapes import scratch_binary
from imagegolf.ladder.sources import c_message, go_message, nasm_message, program_source
from imagegolf.ladder.strategy import RungImage
from imagegolf.ladder.tools import BuildFailed, Workbench
from imagegolf.platform import Platform

BINARY = "hello"
GOARCH = {"amd64": "amd64", "386": "386", "arm64": "arm64"}
UPX_FLAGS = ("--best", "--lzma", "--no-progress")
NOT_COMPRESSIBLE = "NotCompressibleException"


def _require_amd64(platform: Platform, rung: str) -> None:
    if platform.architecture != "amd64":
        raise UsageError(f"{rung} builds with the host's toolchain for linux/amd64 only, not {platform}")


def _finish(bench: Workbench, program: bytes, platform: Platform, technique: str) -> RungImage:
    bench.log.append(f"# {BINARY}: {len(program)} bytes")
    return RungImage(scratch_binary(BINARY, program, platform), technique, bench.log, bench.toolchain)


def upx(bench: Workbench, name: str) -> bytes | None:
    """``upx --best --lzma`` of the file ``name``; None when UPX refuses it (NotCompressibleException)."""
    tool = bench.which("upx")
    bench.version("upx", [tool, "--version"])
    packed = f"{name}.upx"
    done = bench.run([tool, *UPX_FLAGS, "-o", packed, name], check=False)
    if done.returncode == 0:
        return bench.read(packed)
    output = (done.stderr + done.stdout).decode("utf-8", "replace")
    if NOT_COMPRESSIBLE in output:
        bench.log.append(f"# upx refused it: {NOT_COMPRESSIBLE}")
        return None
    raise BuildFailed(f"upx failed with exit code {done.returncode}: {output.strip()[-1500:]}")


# -- Go -------------------------------------------------------------------------------------------


def go_binary(message: bytes, platform: Platform, bench: Workbench, *, stripped: bool) -> bytes:
    if platform.architecture not in GOARCH:
        raise UsageError(f"no Go port for {platform}")
    go = bench.which("go")
    bench.version("go", [go, "version"])
    bench.write("hello.go", program_source("hello.go"))
    bench.write("message.go", go_message(message))
    env = {
        "CGO_ENABLED": "0",
        "GOOS": "linux",
        "GOARCH": GOARCH[platform.architecture],
        "GO111MODULE": "off",  # one package, no modules: nothing is downloaded
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOENV": "off",
        "GOTOOLCHAIN": "local",
        "GOCACHE": str(bench.cache / "go-build"),
        "GOPATH": str(bench.directory / "gopath"),
    }
    # -buildid= : Go's build ID hashes the (random) build directory even with -trimpath; without
    # it the same sources give the same bytes in any directory, on any machine with this Go.
    ldflags = "-s -w -buildid=" if stripped else "-buildid="
    bench.run(
        [go, "build", "-trimpath", f"-ldflags={ldflags}", "-o", BINARY, "hello.go", "message.go"], env=env
    )
    return bench.read(BINARY)


def go(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    program = go_binary(message, platform, bench, stripped=False)
    return _finish(bench, program, platform, "Go, CGO_ENABLED=0, static, FROM scratch (-ldflags=-buildid=)")


def go_stripped(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    program = go_binary(message, platform, bench, stripped=True)
    return _finish(bench, program, platform, 'Go, -ldflags "-s -w -buildid=" (no symbols, no DWARF)')


def go_upx(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    go_binary(message, platform, bench, stripped=True)
    packed = upx(bench, BINARY)
    if packed is None:
        raise BuildFailed(f"upx refused the stripped Go binary ({NOT_COMPRESSIBLE})")
    return _finish(bench, packed, platform, "Go -s -w, packed with upx --best --lzma")


# -- C --------------------------------------------------------------------------------------------


def _c_sources(message: bytes, bench: Workbench) -> None:
    bench.write("hello.c", program_source("hello.c"))
    bench.write("message.h", c_message(message))


def glibc_static(message: bytes, platform: Platform, bench: Workbench) -> bytes:
    _require_amd64(platform, "c-glibc-static")
    gcc = bench.which("gcc")
    bench.version("gcc", [gcc, "--version"])
    _c_sources(message, bench)
    bench.run([gcc, "-static", "-O2", "-o", BINARY, "hello.c"])
    return bench.read(BINARY)


def c_glibc_static(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    program = glibc_static(message, platform, bench)
    return _finish(bench, program, platform, "C (stdio), gcc -static -O2, glibc")


def c_glibc_upx(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    glibc_static(message, platform, bench)
    packed = upx(bench, BINARY)
    if packed is None:
        raise BuildFailed(f"upx refused the static glibc binary ({NOT_COMPRESSIBLE})")
    return _finish(bench, packed, platform, "C glibc -static, packed with upx --best --lzma")


def c_musl_static(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    _require_amd64(platform, "c-musl-static")
    musl_gcc = bench.which("musl-gcc")
    strip = bench.which("strip")
    bench.version("gcc", [musl_gcc, "--version"])
    bench.version("musl", ["dpkg-query", "-W", "-f=musl ${Version}", "musl-dev"])
    _c_sources(message, bench)
    bench.run([musl_gcc, "-static", "-Os", "-o", BINARY, "hello.c"])
    bench.run([strip, "--strip-all", BINARY])
    program = bench.read(BINARY)
    technique = "C (stdio), musl-gcc -static -Os, strip --strip-all"
    # The post's UPX refused the musl binary; ours is tried too, and only reported.
    if bench.which_optional("upx"):
        packed = upx(bench, BINARY)
        technique += f"; upx: {NOT_COMPRESSIBLE}" if packed is None else f"; upx would give {len(packed)} B"
    return _finish(bench, program, platform, technique)


# -- nasm -----------------------------------------------------------------------------------------


def _nasm(bench: Workbench, source: str, fmt: str, message: bytes) -> tuple[str, str]:
    nasm = bench.which("nasm")
    ld = bench.which("ld")
    bench.version("nasm", [nasm, "-v"])
    bench.version("ld", [ld, "--version"])
    bench.write(source, program_source(source))
    bench.write("message.inc", nasm_message(message))
    obj = source.replace(".asm", ".o")
    bench.run([nasm, "-f", fmt, "-o", obj, source])
    return ld, obj


def asm_elf64(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    _require_amd64(platform, "asm-elf64")
    ld, obj = _nasm(bench, "hello64.asm", "elf64", message)
    bench.run([ld, "-o", BINARY, obj])
    return _finish(bench, bench.read(BINARY), platform, "nasm -f elf64 + ld")


def asm_elf32_ld(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    if platform.architecture != "386":
        raise UsageError(f"asm-elf32-ld builds an i386 ELF: use linux/386, not {platform}")
    strip = bench.which("strip")
    ld, obj = _nasm(bench, "hello32.asm", "elf", message)
    bench.run([ld, "-m", "elf_i386", "-N", "-s", "-x", "-nostdlib", "-o", BINARY, obj])
    bench.run([strip, "--strip-all", BINARY])
    return _finish(
        bench, bench.read(BINARY), platform, "nasm -f elf + ld -m elf_i386 -N -s -x -nostdlib + strip"
    )
