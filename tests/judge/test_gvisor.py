"""Judging under gVisor (``--runtime runsc``) on dockerd and podman: a gVisor-safe ELF is ACCEPTED,
the portable amd64 ELF and an i386 one are START_FAILED with gVisor's loader rule named, and the
judgement records the runtime. runsc must be installed (``scripts/setup.sh``): these tests fail
without it, they never skip.

The rules are read from the bytes (judge/gvisor.py); the engine tests check them against what runsc
itself says when it refuses the same file.
"""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from imagegolf import elf, oci, store
from imagegolf.engine import Engine, RunSpec
from imagegolf.judge import JudgeOptions, Verdict, judge_one
from imagegolf.judge.gvisor import refusal
from imagegolf.judge.host import current_host
from imagegolf.judge.launch import diagnose
from imagegolf.judge.rootfs import RootFS
from imagegolf.oci.image import Image
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform, Wanted
from tests.cli.run_cli import cli
from tests.judge.images import PHRASE
from tests.services import Dockerd, require

MESSAGE = (PHRASE + "\n").encode()
SPEC = RunSpec(timeout_s=5, runtime="runsc")
OPTIONS = JudgeOptions(PHRASE, runs=2, spec=SPEC)
JUDGE = ("judge", "--phrase", PHRASE, "--runs", "1", "--timeout", "5")


def clean_elf(message: bytes) -> bytes:
    """An amd64 ELF every loader takes: a real 64-byte header, one 56-byte PT_LOAD after it,
    write(1, msg, len) and exit(0). 120 + 33 bytes + the message."""
    base, code_at = 0x400000, 64 + 56
    code = b"\xbf\x01\x00\x00\x00"  # mov edi, 1
    code += b"\x48\x8d\x35" + struct.pack("<i", 21)  # lea rsi, [rip + 21]: the message after the code
    code += b"\xba" + struct.pack("<I", len(message))  # mov edx, len
    code += b"\xb8\x01\x00\x00\x00\x0f\x05"  # mov eax, 1 (write); syscall
    code += b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # mov eax, 60 (exit); xor edi, edi; syscall
    size = code_at + len(code) + len(message)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, base + code_at, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return ehdr + phdr + code + message


def image_of(program: bytes, platform: Platform = LINUX_AMD64, mode: int = 0o555) -> Image:
    return oci.build_image([TarEntry.file("a", program, mode)], platform, cmd=["/a"])


def judged(image: Image, engine: Engine, options: JudgeOptions = OPTIONS):  # type: ignore[no-untyped-def]
    def fetch(_source: str, _wanted: Wanted) -> Image:
        return image

    return judge_one("gvisor-test", fetch=fetch, engine=engine, options=options)


PORTABLE_AMD64 = elf.build_program(MESSAGE, LINUX_AMD64)  # the default build: its ident bytes are code
I386 = elf.build_program(MESSAGE, LINUX_386)


# The rules, from the bytes (no engine)


def test_a_clean_elf_passes_every_rule() -> None:
    program = clean_elf(MESSAGE)
    assert len(program) == 176
    assert refusal("/a", program, len(program), "x86_64") is None


@pytest.mark.parametrize(
    ("program", "words"),
    [
        (PORTABLE_AMD64, "e_ident[EI_CLASS] is 0x48, not 2 (ELFCLASS64)"),
        (I386, "gVisor runs no 32-bit x86"),
        (clean_elf(MESSAGE)[:5] + b"\x02" + clean_elf(MESSAGE)[6:], "e_ident[EI_DATA] is 0x02"),
        (clean_elf(MESSAGE)[:6] + b"\x00" + clean_elf(MESSAGE)[7:], "e_ident[EI_VERSION] is 0x00"),
        (clean_elf(b"")[:60], "whole 64-byte ELF64 header"),
        (clean_elf(MESSAGE)[:54] + struct.pack("<H", 32) + clean_elf(MESSAGE)[56:], "e_phentsize is 32"),
        (clean_elf(MESSAGE)[:56] + struct.pack("<H", 0) + clean_elf(MESSAGE)[58:], "e_phnum is 0"),
        (clean_elf(MESSAGE)[:56] + struct.pack("<H", 9) + clean_elf(MESSAGE)[58:], "past the end of the"),
        (b"\x7fELF\x02\x01\x01", "all 16 identification bytes"),
    ],
)
def test_each_rule_is_named(program: bytes, words: str) -> None:
    found = refusal("/a", program, len(program), "x86_64")
    assert found is not None and words in found, found
    assert "gVisor" in found and "pkg/sentry/loader/elf.go" in found


def test_pt_load_segments_out_of_order_are_refused() -> None:
    program = bytearray(clean_elf(MESSAGE))
    program[56:58] = struct.pack("<H", 2)  # a second PT_LOAD, below the first
    second = struct.pack("<IIQQQQQQ", 1, 4, 0, 0x300000, 0x300000, 16, 16, 0x1000)
    program[120:120] = second
    found = refusal("/a", bytes(program), len(program), "x86_64")
    assert found is not None and "PT_LOAD program header 1 starts at 0x300000" in found


def test_another_architecture_is_refused_on_this_host() -> None:
    arm = clean_elf(MESSAGE)[:18] + struct.pack("<H", 183) + clean_elf(MESSAGE)[20:]
    found = refusal("/a", arm, len(arm), "x86_64")
    assert found is not None and "only its host's architecture" in found
    assert refusal("/a", arm, len(arm), "aarch64") is None
    built = elf.build_program(MESSAGE, LINUX_ARM64)
    assert refusal("/a", built, len(built), "x86_64") is not None


def _diagnosis(program: bytes, mode: int, runtime: str) -> str | None:
    root = RootFS()
    root.add_layer(0, [TarEntry.file("a", program, mode)])
    launch = diagnose(("/a",), root, lambda _node: program, current_host(), path_env="/bin", runtime=runtime)
    return launch.problem


def test_the_diagnosis_depends_on_the_runtime() -> None:
    assert _diagnosis(PORTABLE_AMD64, 0o111, "runc") is None
    assert _diagnosis(clean_elf(MESSAGE), 0o555, "runsc") is None
    unreadable = _diagnosis(clean_elf(MESSAGE), 0o111, "runsc")
    assert unreadable is not None and "mode 0111: gVisor opens a program for reading" in unreadable
    assert "would still fail" not in unreadable
    both = _diagnosis(PORTABLE_AMD64, 0o111, "runsc")
    assert both is not None and "permission denied); readable, it would still fail" in both
    assert "EI_CLASS" in both


def test_a_script_whose_interpreter_gvisor_refuses() -> None:
    root = RootFS()
    script = b"#!/bin/x\necho hi\n"
    root.add_layer(0, [TarEntry.file("s", script, 0o555), TarEntry.file("bin/x", I386, 0o555)])
    files = {"s": script, "bin/x": I386}
    launch = diagnose(
        ("/s",), root, lambda node: files[node.entry.path.strip("/")], current_host(), path_env="/bin",
        runtime="runsc",
    )  # fmt: skip
    assert launch.problem is not None and "the script /s runs /bin/x" in launch.problem
    assert "32-bit x86" in launch.problem


# The judge on real engines (dockerd and podman), under runsc


@pytest.fixture(scope="module")
def runsc() -> str:
    return require("runsc")


@pytest.mark.engine
def test_a_gvisor_safe_elf_is_accepted_under_runsc_and_the_runtime_recorded(
    runsc: str, engine: Engine
) -> None:
    judgement = judged(image_of(clean_elf(MESSAGE)), engine)
    assert judgement.verdict is Verdict.ACCEPTED, judgement.reason
    assert judgement.runtime == "runsc" and judgement.to_json()["runtime"] == "runsc"
    assert len(judgement.runs) == 2
    under_runc = judged(image_of(clean_elf(MESSAGE)), engine, replace(OPTIONS, spec=RunSpec(timeout_s=5)))
    assert under_runc.verdict is Verdict.ACCEPTED and under_runc.runtime == "runc"


@pytest.mark.engine
@pytest.mark.parametrize(
    ("program", "platform", "mode", "words"),
    [
        (PORTABLE_AMD64, LINUX_AMD64, 0o111, ("mode 0111", "would still fail", "EI_CLASS")),
        (PORTABLE_AMD64, LINUX_AMD64, 0o555, ("gVisor's loader refuses", "e_ident[EI_CLASS] is 0x48")),
        (I386, LINUX_386, 0o111, ("mode 0111", "gVisor runs no 32-bit x86")),
        (I386, LINUX_386, 0o555, ("gVisor runs no 32-bit x86",)),
    ],
    ids=["portable-amd64", "portable-amd64-readable", "i386", "i386-readable"],
)
def test_what_runc_runs_and_gvisor_refuses_is_start_failed_naming_the_rule(
    runsc: str, engine: Engine, program: bytes, platform: Platform, mode: int, words: tuple[str, ...]
) -> None:
    image = image_of(program, platform, mode)
    assert judged(image, engine, replace(OPTIONS, spec=RunSpec(timeout_s=5))).accepted  # runc runs it
    judgement = judged(image, engine)
    assert judgement.verdict is Verdict.START_FAILED, judgement.reason
    assert judgement.runtime == "runsc"
    for word in words:
        assert word in judgement.reason, judgement.reason
    assert len(judgement.runs) == 1 and judgement.runs[0].exit_code is None  # it stopped at run 1


@pytest.mark.engine
@pytest.mark.parametrize(
    ("program", "mode", "said"),
    [(PORTABLE_AMD64, 0o555, "exec format error"), (clean_elf(MESSAGE), 0o111, "permission denied")],
    ids=["ident-bytes", "execute-only"],
)
def test_runsc_itself_refuses_what_the_diagnosis_says(
    runsc: str, engine: Engine, program: bytes, mode: int, said: str
) -> None:
    """The engine's own words, without the judge's diagnosis: runsc fails to load /a. (podman's
    API passes on only the last line, "`runsc … start …` failed: exit status 128".)"""
    from imagegolf.store.write import dual_tar_bytes

    gvisor = engine.for_runtime("runsc")
    name = "localhost/igtest-gvisor-raw:1"
    gvisor.load(dual_tar_bytes(image_of(program, mode=mode), name))
    create = gvisor.api.create_container
    created: list[str] = []

    def recording(*args: Any, **kwargs: Any) -> str:
        answer = create(*args, **kwargs)
        created.append(answer)
        return answer

    try:
        gvisor.api.create_container = recording  # type: ignore[method-assign]
        result = gvisor.run(name, SPEC)
    finally:
        gvisor.api.create_container = create  # type: ignore[method-assign]
        gvisor.remove_image(name)
    text = (result.error + result.stderr.decode(errors="replace")).lower()
    assert not result.started and not result.stdout
    deadline = time.monotonic() + 10  # containerd runs `containerd-shim-runc-v2 … delete` after it
    while _shims_of(created) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _shims_of(created), "the container's containerd shim outlived it"
    if engine.kind == "docker":
        assert "failed to load /a" in text and said in text, result
    else:
        assert "runsc" in text and "start" in text and "exit status 128" in text, result


def _shims_of(containers: list[str]) -> list[int]:
    """containerd shims (dockerd) still running for these containers: runsc start failures left one
    behind each until the engine reaped it (engine/client.py reap_shim)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"containerd-shim" in argv[0] and any(c.encode() in argv for c in containers):
            found.append(int(pid))
    return found


# The command line


@pytest.mark.engine
def test_judge_runtime_on_the_command_line(runsc: str, dockerd: Dockerd, tmp_path: Path) -> None:
    clean, portable = tmp_path / "clean.tar", tmp_path / "portable.tar"
    store.write_dual_tar(image_of(clean_elf(MESSAGE)), clean, "localhost/clean:1")
    store.write_dual_tar(image_of(PORTABLE_AMD64), portable, "localhost/portable:1")
    sources = [str(clean), str(portable)]
    judged = cli(*JUDGE, *sources, "--runtime", "runsc", "--json", environ={"DOCKER_HOST": dockerd.url})
    assert judged.code == 1, judged.stderr
    found = {j["source"]: j for j in json.loads(judged.text)}
    assert [found[s]["verdict"] for s in sources] == ["ACCEPTED", "START_FAILED"]
    assert {j["runtime"] for j in found.values()} == {"runsc"}
    assert "EI_CLASS" in found[str(portable)]["reason"]
    table = cli(*JUDGE, str(clean), environ={"DOCKER_HOST": dockerd.url})
    assert table.code == 0 and json.loads(cli(*JUDGE, str(clean), "--json").text)[0]["runtime"] == "runc"


def test_a_runtime_the_judge_does_not_know_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "clean.tar"
    store.write_dual_tar(image_of(clean_elf(MESSAGE)), source, "localhost/clean:1")
    bad = cli(*JUDGE, str(source), "--runtime", "kata")
    assert bad.code == 2 and "runtime 'kata': give runc" in bad.stderr and "Traceback" not in bad.stderr
    ruled = cli("judge", str(source), "--rules", "http://127.0.0.1:9/", "--runtime", "runsc")
    assert ruled.code == 2 and "--runtime" in ruled.stderr and "the contest's rules set" in ruled.stderr


@pytest.mark.engine
@pytest.mark.parametrize("mode", ["embed", "argv"])
def test_the_gvisor_build_profile_is_accepted_under_runsc(
    runsc: str, engine: Engine, mode: str, tmp_path: Path
) -> None:
    """`imagegolf build --profile gvisor` (the ELF engineer's layouts, under 120 bytes: the program
    headers may overlap the ELF header as long as gVisor's fields are honest)."""
    out = tmp_path / "gvisor.tar"
    built = cli("build", "--platform", "linux/amd64", "--mode", mode, "--profile", "gvisor", "-o", str(out))
    assert built.code == 0, built.stderr
    image = store.read_source(out)
    [(path, program)] = [oci.entry_file(image) or ("", b"")]
    assert len(program) < 120 and refusal(path, program, len(program), "x86_64") is None
    judgement = judged(image, engine)
    assert judgement.verdict is Verdict.ACCEPTED and judgement.runtime == "runsc", judgement.reason
