"""`imagegolf build` and `inspect` in-process: outputs, summaries, reproducibility, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.run_cli import cli

MESSAGE = b"hello IDBS engineering\n"


def test_build_writes_a_reproducible_dual_tar(tmp_path: Path) -> None:
    first = cli("build", "-o", str(tmp_path / "a.tar"))
    second = cli("build", "-o", str(tmp_path / "b.tar"))
    assert first.code == second.code == 0, first.stderr
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert "digest   sha256:" in first.text
    assert "docker_classic" in first.text


def test_build_json_summary(tmp_path: Path) -> None:
    result = cli("build", "--json", "-o", str(tmp_path / "x.tar"))
    summary = json.loads(result.stdout)
    assert summary["platform"] == "linux/386"
    assert summary["message_bytes"] == len(MESSAGE)
    assert summary["metrics"]["docker_classic"] == summary["program_bytes"]
    assert summary["metrics"]["pull_bytes"] <= 650


def test_inspect_json_has_the_documented_shape(tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    assert cli("build", "Hi IDBS Engineering! RE", "-o", str(out)).code == 0
    result = cli("inspect", str(out), "--json")
    assert result.code == 0, result.stderr
    info = json.loads(result.stdout)
    assert set(info) >= {"source", "platform", "manifest_digest", "metrics", "files", "entrypoint"}
    assert set(info["metrics"]) == {
        "docker_classic",
        "containerd_content",
        "podman",
        "registry_compressed",
        "pull_bytes",
    }
    assert info["entrypoint"] == ["/a"]
    [entry] = info["files"]
    assert entry["path"] == "/a"
    assert entry["size"] == info["metrics"]["docker_classic"] <= 73


def test_oci_dir_output_is_read_by_skopeo(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    assert cli("build", "--oci-dir", str(layout), "--name", "localhost/x:1").code == 0
    ours = json.loads(cli("inspect", str(layout), "--json").stdout)["manifest_digest"]
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{layout}:1"], capture_output=True, check=True
    ).stdout
    import hashlib

    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == ours


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["build", "--platform", "linux/sparc", "-o", "/tmp/x.tar"], "unknown platform"),
        (["build", "", "-o", "/tmp/x.tar"], "message is empty"),
        (["build", "-o", "/nonexistent-dir/sub/x.tar"], "/nonexistent-dir/sub"),
        (["build", "-o", "/proc/x.tar"], "/proc/x.tar"),
        (["build", "--mode", "argv", "caf\udce9"], "UTF-8"),
        (["inspect", "/nonexistent.tar"], "no such file"),
        (["build", "--platform", "linux/amd64,linux/sparc", "-o", "/tmp/x.tar"], "unknown platform"),
        (["inspect", "/tmp/x.tar", "--platform", "all"], "reads one image"),
    ],
)
def test_bad_input_is_one_clear_line_with_exit_2(argv: list[str], needle: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("imagegolf: error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_inspect_refuses_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 40)
    result = cli("inspect", str(junk))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
