"""`imagegolf build --profile` prints the chosen layout and what it relies on; `explain` shows it;
the judge's sandbox (podman + runc) accepts the record and any-exit profiles' images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.run_cli import cli
from tests.elf.gvisor_rules import gvisor_problems

from imagegolf import elf, oci, store
from imagegolf.platform import LINUX_386, LINUX_AMD64

RECORD_TEXT = "Hi IDBS Engineering! RE"  # the CLI adds the newline: 24 bytes
RECORD = (RECORD_TEXT + "\n").encode()


def build(tmp_path: Path, *flags: str, name: str = "x.tar") -> tuple[str, Path]:
    out = tmp_path / name
    result = cli("build", RECORD_TEXT, *flags, "-o", str(out))
    assert result.code == 0, result.stderr
    return result.text, out


def entry(tar: Path) -> dict[str, object]:
    """The one file of the image, as `imagegolf inspect --json` lists it."""
    [listed] = json.loads(cli("inspect", str(tar), "--json").stdout)["files"]
    return dict(listed)


def test_build_names_the_layout_and_its_reliances(tmp_path: Path) -> None:
    text, _ = build(tmp_path, "--platform", "linux/amd64", "--profile", "record")
    assert "linux/amd64 embed/record: 93-byte ELF (69 bytes + the 24-byte message)" in text
    assert "layout   amd64/embed/split" in text
    assert "relies on\n" in text
    assert "  - address space: maps 4.3 GB (p_memsz)" in text
    assert "  - stdin: a zero-byte read of fd 0 returns" in text
    assert "  - argc = 1" in text


def test_the_portable_default_says_what_it_relies_on_too(tmp_path: Path) -> None:
    text, _ = build(tmp_path)
    assert "linux/386 embed/portable: 72-byte ELF" in text
    assert "layout   386/embed/teensy" in text
    assert "needs Linux's ia32 emulation" in text


def test_build_json_has_the_layout_its_reliances_and_what_it_passed_over(tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    long = "x" * 30  # 31 bytes with the newline: past the split layout's 24
    result = cli("build", long, "--platform", "linux/amd64", "--profile", "record", "--json", "-o", str(out))
    summary = json.loads(result.stdout)
    assert summary["layout"] == "amd64/embed/teensy"
    assert {r["kind"] for r in summary["relies_on"]} == {"fails-under"}
    [skipped] = summary["passed_over"]
    assert skipped["layout"] == "amd64/embed/split"
    assert skipped["broken"] == ["message: 1 ≤ length ≤ 24 (three 8-byte chunks)"]
    text = cli("build", long, "--platform", "linux/amd64", "--profile", "record", "-o", str(out)).text
    assert "passed over amd64/embed/split: message: 1 ≤ length ≤ 24" in text


@pytest.mark.parametrize(
    ("flags", "size", "layout"),
    [
        (("--platform", "linux/386", "--mode", "argv", "--profile", "record"), 49, "386/argv/masked"),
        (("--platform", "linux/386", "--profile", "any-exit"), 70, "386/embed/any-exit"),
        (("--platform", "linux/386", "--mode", "argv", "--profile", "any-exit"), 48, "386/argv/any-exit"),
        (("--platform", "linux/amd64", "--mode", "argv", "--profile", "record"), 73, "amd64/argv/dyn"),
        (("--platform", "linux/amd64", "--profile", "gvisor"), 99, "amd64/embed/gvisor"),
    ],
)
def test_each_profile_reaches_its_size(
    tmp_path: Path, flags: tuple[str, ...], size: int, layout: str
) -> None:
    out = str(tmp_path / "x.tar")
    summary = json.loads(cli("build", RECORD_TEXT, *flags, "--json", "-o", out).stdout)
    assert (summary["program_bytes"], summary["layout"]) == (size, layout)


def test_a_gvisor_image_holds_a_readable_file_that_gvisors_loader_takes(tmp_path: Path) -> None:
    _, tar = build(tmp_path, "--platform", "linux/amd64", "--profile", "gvisor")
    listed = entry(tar)
    assert listed["mode"] == "0555"  # gVisor opens an executable O_RDONLY, as the user
    _, record = build(tmp_path, "--platform", "linux/amd64", "--profile", "record", name="r.tar")
    assert entry(record)["mode"] == "0111"  # Linux needs only the x bit
    program = elf.build_program(RECORD, LINUX_AMD64, "embed", "gvisor")
    assert listed["size"] == len(program) and gvisor_problems(program) == []


def test_gvisor_refuses_i386_with_a_hint(tmp_path: Path) -> None:
    result = cli("build", "--platform", "linux/386", "--profile", "gvisor", "-o", str(tmp_path / "x.tar"))
    assert result.code == 2
    assert "profile gvisor has no layout for linux/386" in result.stderr
    assert "gVisor runs amd64 and arm64 only" in result.stderr


def test_every_platform_in_one_index_with_its_layout(tmp_path: Path) -> None:
    out = tmp_path / "all.tar"
    flags = ("--platform", "all", "--profile", "record", "--json", "-o", str(out))
    record = json.loads(cli("build", RECORD_TEXT, *flags).stdout)["platforms"]
    portable = json.loads(cli("build", RECORD_TEXT, *flags[:2], "--json", "-o", str(out)).stdout)["platforms"]
    assert len(record) == len(portable) == len(elf.platforms())
    for ours, theirs in zip(record, portable, strict=True):
        assert ours["program_bytes"] <= theirs["program_bytes"]
    assert {row["platform"]: row["layout"] for row in record}["linux/amd64"] == "amd64/embed/split"
    assert "  linux/amd64         93" in cli("build", RECORD_TEXT, *flags[:-3], "-o", str(out)).text


def test_explain_shows_the_layout_and_its_reliances(tmp_path: Path) -> None:
    _, tar = build(tmp_path, "--platform", "linux/amd64", "--profile", "record")
    text = cli("explain", str(tar)).text
    assert "layout   amd64/embed/split (profiles record, any-exit)" in text
    assert "  - address space: maps 4.3 GB (p_memsz)" in text
    assert "the 24-byte message keeps them" in text
    assert "jg 0xc00000047  ; to file offset 0x47 (taken: EFLAGS = IF at exec)" in text
    assert "syscall  ; read(0, 0, 0)" in text


def test_explain_checks_an_argv_images_message_against_the_layout(tmp_path: Path) -> None:
    _, tar = build(tmp_path, "--platform", "linux/386", "--mode", "argv", "--profile", "record")
    text = cli("explain", str(tar)).text
    assert "layout   386/argv/masked" in text
    assert "message: length & 0x10020 = 0" in text
    assert "the 24-byte message keeps them" in text
    assert "(profiles record, any-exit)" in text


def test_explain_on_a_file_of_no_known_layout(tmp_path: Path) -> None:
    program = bytearray(elf.build_program(RECORD, LINUX_386))
    program[33] ^= 0x01  # one byte of mov ecx's address: no layout draws this
    image = oci.build_record_image(bytes(program), LINUX_386)
    tar = store.write_dual_tar(image, tmp_path / "odd.tar", "localhost/odd:1")
    text = cli("explain", str(tar)).text
    assert "layout   not one of imagegolf's layouts: its reliances are not known" in text
    assert "layout   386/embed/teensy (profiles portable, record, any-exit)" in cli(
        "explain", str(build(tmp_path)[1])
    ).text


@pytest.mark.engine
def test_the_judge_accepts_every_profile_in_its_sandbox(tmp_path: Path) -> None:
    """podman + runc as the judge runs them: stdin /dev/null, user nobody, no capabilities."""
    zero = [
        build(tmp_path, *flags, name=f"{i}.tar")[1]
        for i, flags in enumerate(
            [
                ("--platform", "linux/amd64", "--profile", "record"),
                ("--platform", "linux/amd64", "--mode", "argv", "--profile", "record"),
                ("--platform", "linux/386", "--mode", "argv", "--profile", "record"),
                ("--platform", "linux/amd64", "--profile", "gvisor"),
                ("--platform", "linux/amd64", "--mode", "argv", "--profile", "gvisor"),
            ]
        )
    ]
    result = cli("judge", *map(str, zero), "--phrase", RECORD_TEXT, "--runs", "1", "--json")
    assert result.code == 0, result.stderr
    judged = json.loads(result.stdout)
    assert sorted(j["metrics"]["docker_classic"] for j in judged) == [49, 73, 73, 93, 99]
    assert {j["verdict"] for j in judged} == {"ACCEPTED"}
    anyexit = build(tmp_path, "--platform", "linux/386", "--profile", "any-exit", name="a.tar")[1]
    strict = json.loads(cli("judge", str(anyexit), "--phrase", RECORD_TEXT, "--runs", "1", "--json").stdout)
    assert strict[0]["verdict"] == "RUNTIME_ERROR"  # status 24: what NonZeroExit declares
    free = cli("judge", str(anyexit), "--phrase", RECORD_TEXT, "--runs", "1", "--exit", "any", "--json")
    assert json.loads(free.stdout)[0]["verdict"] == "ACCEPTED"
    arm64 = build(tmp_path, "--platform", "linux/arm64", "--profile", "record", name="arm64.tar")[1]
    foreign = cli(
        "judge", str(arm64), "--phrase", RECORD_TEXT, "--runs", "1", "--platform", "linux/arm64", "--json"
    )
    assert json.loads(foreign.stdout)[0]["verdict"] == "ACCEPTED"  # binfmt_misc and qemu-user
