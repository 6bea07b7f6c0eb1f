"""Pure parts: message literals, the PT_INTERP reader, rung selection, echo arguments, verdicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from imagegolf import elf, ladder, oci
from imagegolf.errors import UsageError
from imagegolf.ladder.shapes import echo_arguments
from imagegolf.ladder.sources import c_message, go_message, nasm_message
from imagegolf.platform import LINUX_386, LINUX_AMD64
from tests.ladder.helpers import LOADER, MESSAGE, result

AWKWARD = bytes(range(256)) + b'"\\?\n'


def test_go_literal_escapes_every_awkward_byte() -> None:
    text = go_message(b'a"\\\x00\xff\n')
    assert 'const message = "a\\x22\\x5c\\x00\\xff\\x0a"' in text


def test_c_literal_uses_octal_escapes_that_cannot_swallow_digits() -> None:
    assert '#define MESSAGE "\\0001"' in c_message(b"\x001")
    assert "#define MESSAGE_LENGTH 2u" in c_message(b"\x001")


def test_c_literal_round_trips_any_byte_through_gcc(tmp_path: Path) -> None:
    (tmp_path / "message.h").write_text(c_message(AWKWARD))
    (tmp_path / "dump.c").write_text(
        '#include <stdio.h>\n#include "message.h"\n'
        "int main(void) { fwrite(MESSAGE, 1, MESSAGE_LENGTH, stdout); return 0; }\n"
    )
    subprocess.run(["gcc", "-o", "dump", "dump.c"], cwd=tmp_path, check=True)
    assert subprocess.run([tmp_path / "dump"], capture_output=True, check=True).stdout == AWKWARD


def test_nasm_include_is_db_lines_of_sixteen() -> None:
    lines = nasm_message(bytes(range(20))).splitlines()
    assert lines[1].count(",") == 15 and lines[2] == "    db 0x10,0x11,0x12,0x13"


def test_interpreter_names_the_host_echo_loader() -> None:
    assert ladder.interpreter(Path("/bin/echo").read_bytes()) == LOADER


def test_interpreter_of_static_files_is_none() -> None:
    assert ladder.interpreter(Path("/bin/busybox").read_bytes()) is None
    assert ladder.interpreter(elf.build_program(MESSAGE, LINUX_386)) is None
    assert ladder.interpreter(b"#!/bin/sh\n") is None


def test_select_keeps_ladder_order_and_rejects_unknown_names() -> None:
    names = [s.name for s in ladder.select(["teensy", "go", "busybox-echo"])]
    assert names == ["busybox-echo", "go", "teensy"]
    assert "distro-echo" not in [s.name for s in ladder.select(skip=["distro-echo"])]
    with pytest.raises(UsageError, match="no ladder rung named 'nope'"):
        ladder.select(["nope"])


def test_ladder_order_and_post_figures_follow_the_seed() -> None:
    assert list(ladder.STRATEGIES)[:3] == ["distro-echo", "busybox-echo", "host-echo"]
    posts = {name: s.post.size for name, s in ladder.STRATEGIES.items() if s.post}
    assert posts["distro-echo"] == 73_900_000 and posts["teensy"] == 73
    assert posts["go"] > posts["go-stripped"] > posts["go-upx"]
    assert posts["c-glibc-static"] > posts["c-glibc-upx"] > posts["c-musl-static"]
    assert posts["asm-elf64"] > posts["asm-elf32-ld"] > posts["teensy"]
    assert ladder.STRATEGIES["host-echo"].expected == ladder.START_FAILED


def test_echo_arguments_let_echo_add_the_newline() -> None:
    assert echo_arguments(b"hi\n") == ["hi"]
    assert echo_arguments(b"hi") == ["-n", "hi"]
    with pytest.raises(UsageError, match="NUL"):
        echo_arguments(b"a\0b")


def test_a_rung_refuses_a_platform_it_cannot_build() -> None:
    with pytest.raises(UsageError, match="does not build for linux/386"):
        ladder.build_rung("c-musl-static", MESSAGE, LINUX_386)


def _image() -> oci.Image:
    return oci.build_image(
        [oci.TarEntry.file("echo", Path("/bin/echo").read_bytes())], LINUX_AMD64, cmd=["/echo"]
    )


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (result(0, MESSAGE), "ACCEPTED"),
        (result(0, b"hello\n"), "WRONG_OUTPUT"),
        (result(3), "RUNTIME_ERROR"),
        (result(127, stderr=b"not found"), "START_FAILED"),
        (result(None, error="exec format error"), "START_FAILED"),
        (result(1, stderr=b"exec /echo: no such file or directory\n"), "START_FAILED"),
    ],
)
def test_verdict_of_a_run(run: object, expected: str) -> None:
    verdict, _ = ladder.verdict(run, MESSAGE, _image())  # type: ignore[arg-type]
    assert verdict == expected


def test_start_failed_names_the_missing_loader() -> None:
    verdict, reason = ladder.verdict(result(None, error="no such file or directory"), MESSAGE, _image())
    assert verdict == "START_FAILED"
    assert f"its program interpreter {LOADER} is not in the image" in reason
