"""Building rungs with the host's toolchains (no engine): skips, goldens, the CLI's outputs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from imagegolf import ladder, oci, store
from imagegolf.ladder.check import LADDER_CAPS
from tests.ladder.helpers import MESSAGE, ladder_cli

DETERMINISTIC = ["teensy", "teensy-modern", "teensy-argv", "asm-elf64", "asm-elf32-ld", "c-musl-static",
                 "c-glibc-static", "busybox-echo", "host-echo"]  # fmt: skip


@pytest.mark.parametrize(
    ("rung", "command"),
    [
        ("asm-elf64", "sudo apt-get install nasm"),
        ("c-musl-static", "sudo apt-get install musl-tools"),
        ("go", "sudo apt-get install golang-go"),
        ("go-upx", "sudo apt-get install golang-go"),
        ("busybox-echo", "sudo apt-get install busybox-static"),
        ("distro-echo", "sudo apt-get install mmdebstrap"),
    ],
)
def test_a_missing_toolchain_skips_the_rung_with_the_install_command(rung: str, command: str) -> None:
    results = ladder.run_ladder(MESSAGE, [ladder.strategy(rung)], check=None, environ={"PATH": ""})
    assert [r.verdict for r in results] == [ladder.SKIPPED]
    assert f"install it with `{command}`" in results[0].reason
    assert results[0].as_expected  # a skip is reported, not a failure


def test_the_rest_of_the_ladder_goes_on_past_a_skipped_rung() -> None:
    rungs = ladder.select(["asm-elf64", "teensy"])
    results = ladder.run_ladder(MESSAGE, rungs, check=None, environ={"PATH": ""})
    assert [r.verdict for r in results] == [ladder.SKIPPED, ladder.NOT_CHECKED]
    assert results[1].metrics is not None and results[1].metrics.docker_classic == 71


def test_upx_missing_names_the_backports_package(tmp_path: Path) -> None:
    only_gcc = tmp_path / "bin"
    only_gcc.mkdir()
    for tool in ("gcc", "as", "ld", "collect2"):
        if found := shutil.which(tool):
            os.symlink(found, only_gcc / tool)
    results = ladder.run_ladder(
        MESSAGE, [ladder.strategy("c-glibc-upx")], check=None, environ={"PATH": str(only_gcc)}
    )
    assert results[0].verdict == ladder.SKIPPED
    assert "sudo apt-get install -t bookworm-backports upx-ucl" in results[0].reason


@pytest.mark.parametrize("rung", DETERMINISTIC)
def test_building_a_rung_twice_gives_the_same_bytes(rung: str) -> None:
    first = ladder.build_rung(rung, MESSAGE)
    second = ladder.build_rung(rung, MESSAGE)
    assert first.image.manifest_digest == second.image.manifest_digest
    assert first.image.layers == second.image.layers


# Debian 12 has UPX only in bookworm-backports: its rungs are checked where it is installed.
SLOW_DETERMINISTIC = ["go", "go-stripped"] + (["go-upx", "c-glibc-upx"] if shutil.which("upx") else [])


@pytest.fixture(scope="module")
def other_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("other-cache")


@pytest.mark.slow
@pytest.mark.parametrize("rung", SLOW_DETERMINISTIC)
def test_go_and_upx_builds_are_reproducible_across_caches(rung: str, other_cache: Path) -> None:
    first = ladder.build_rung(rung, MESSAGE)
    second = ladder.build_rung(rung, MESSAGE, cache_dir=other_cache)  # a cold GOCACHE elsewhere
    assert first.image.manifest_digest == second.image.manifest_digest


def test_teensy_is_the_record_image() -> None:
    built = ladder.build_rung("teensy", MESSAGE)
    assert str(built.image.manifest_digest) == (
        "sha256:bd041d43b2e8aed709f71887a968f7b117a00c8b58e46a4e91c2afa3ff6ecdff"
    )
    assert oci.size_metrics(built.image).docker_classic == 71
    assert built.toolchain.startswith("imagegolf ")


def test_each_toolchain_rung_records_its_commands_and_versions() -> None:
    built = ladder.build_rung("asm-elf32-ld", MESSAGE)
    assert any(line.startswith("# nasm: NASM version") for line in built.log)
    assert any("ld -m elf_i386 -N -s -x -nostdlib" in line for line in built.log)
    assert "NASM version" in built.toolchain and "GNU ld" in built.toolchain


def test_sizes_fall_down_each_group_of_the_ladder() -> None:
    def size(rung: str) -> int:
        return oci.size_metrics(ladder.build_rung(rung, MESSAGE).image, caps=LADDER_CAPS).docker_classic

    assert size("c-glibc-static") > size("c-musl-static")
    assert size("asm-elf64") > size("asm-elf32-ld") > size("teensy") > size("teensy-argv")


def test_cli_json_without_checks_and_kept_images(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "images"
    outcome = ladder_cli(
        monkeypatch, "--only", "asm-elf32-ld,teensy", "--no-check", "--json", "-o", str(out),
        environ={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert outcome.code == 0, outcome.stderr
    document = json.loads(outcome.stdout)
    assert [r["rung"] for r in document["rungs"]] == ["asm-elf32-ld", "teensy"]
    assert [r["verdict"] for r in document["rungs"]] == ["BUILT", "BUILT"]
    assert document["rungs"][1]["metrics"]["docker_classic"] == 71
    assert document["rungs"][0]["post"] == {
        "rung": "nasm -f elf + ld -m elf_i386 -N -s -x + strip",
        "size": 336,
    }
    kept = sorted(p.name for p in out.iterdir())
    assert kept == ["01-asm-elf32-ld.tar", "02-teensy.tar"]
    image = store.read_source(out / "02-teensy.tar")
    assert str(image.manifest_digest) == document["rungs"][1]["digest"]
    assert "[1/2] asm-elf32-ld: building" in outcome.stderr.replace("[ ", "[")


def test_cli_table_shows_the_post_beside_ours_and_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = ladder_cli(monkeypatch, "--only", "asm-elf64,teensy", "--no-check", environ={"PATH": ""})
    assert outcome.code == 0, outcome.stderr
    rows = {line.split()[0]: line for line in outcome.text.splitlines() if line.startswith(("asm", "teensy"))}
    assert "SKIPPED" in rows["asm-elf64"] and "9.94kB" in rows["asm-elf64"]
    assert "71B" in rows["teensy"] and "73B" in rows["teensy"]
    assert "asm-elf64: SKIPPED (expected ACCEPTED): nasm is not installed: install it with " in outcome.text


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str) -> None:
    chart = tmp_path / f"ladder{suffix}"
    outcome = ladder_cli(
        monkeypatch, "--only", "asm-elf32-ld,teensy,teensy-argv", "--no-check", "--chart", str(chart),
        environ={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert outcome.code == 0, outcome.stderr
    data = chart.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:400]
    if suffix == ".svg":
        assert b"288B" in data and b"336B" in data and b"log scale" in data


def test_chart_refuses_other_formats(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outcome = ladder_cli(monkeypatch, "--only", "teensy", "--no-check", "--chart", str(tmp_path / "x.pdf"),
                         environ={})  # fmt: skip
    assert outcome.code == 2 and ".png or .svg" in outcome.stderr


def test_a_message_echo_cannot_carry_skips_only_the_echo_rungs() -> None:
    rungs = ladder.select(["busybox-echo", "c-musl-static", "teensy", "teensy-argv"])
    results = ladder.run_ladder(b"a\0b\xff\n", rungs, check=None)
    verdicts = [r.verdict for r in results]
    assert verdicts == [ladder.SKIPPED, ladder.NOT_CHECKED, ladder.NOT_CHECKED, ladder.SKIPPED]
    assert "NUL" in results[0].reason and "NUL" in results[3].reason
