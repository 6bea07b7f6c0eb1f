"""`imagegolf judge` end to end: the table and JSON, ranking, exit codes, registry references."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagegolf.registry import open_registry
from imagegolf.store import read_source
from tests.cli.run_cli import cli
from tests.judge.corpus import RUN
from tests.judge.images import PHRASE, busybox_parts, write_oci_archive
from tests.registry_services import DistributionRegistry
from tests.services import Dockerd

pytestmark = pytest.mark.engine
IMAGEGOLF = [sys.executable, "-m", "imagegolf.cli"]
JUDGE = ["judge", "--phrase", PHRASE, "--runs", "1", "--timeout", "5"]
RUN_KEYS = {"exit_code", "stdout", "stderr", "wall_ms", "stdout_truncated"}
KEYS = {"source", "digest", "platform", "verdict", "reason", "metrics", "runs", "notes", "index_digest"}
KEYS.update({"chosen", "any_exit", "phrase_in", "runtime"})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("judge-cli")
    out = {"embed": directory / "embed.tar", "argv": directory / "argv.tar"}
    assert cli("build", "-o", str(out["embed"])).code == 0
    assert cli("build", "--mode", "argv", "-o", str(out["argv"])).code == 0
    out["wrong"] = write_oci_archive(directory / "wrong.tar", busybox_parts("echo goodbye"))
    for case in RUN:
        if case.name in ("memory-bomb", "endless-stdout", "fork-bomb", "phrase-in-entrypoint", "host-echo"):
            out[case.name] = case.build(directory)
    return out


def judged(*argv: str, dockerd: Dockerd) -> tuple[int, list[dict[str, object]], str]:
    result = cli(*JUDGE, *argv, "--json", environ={"DOCKER_HOST": dockerd.url})
    return result.code, json.loads(result.text), result.stderr


def test_json_ranks_the_accepted_images_by_the_metric(built: dict[str, Path], dockerd: Dockerd) -> None:
    sources = [str(built["wrong"]), str(built["embed"]), str(built["argv"])]
    code, by_classic, _ = judged(*sources, dockerd=dockerd)
    assert code == 1
    assert [j["source"] for j in by_classic] == [sources[2], sources[1], sources[0]]  # argv: 50 B < 71 B
    assert [j["verdict"] for j in by_classic] == ["ACCEPTED", "ACCEPTED", "WRONG_OUTPUT"]
    for judgement in by_classic:
        assert set(judgement) == KEYS
        for run in judgement["runs"]:  # type: ignore[attr-defined]
            assert set(run) == RUN_KEYS
    assert by_classic[0]["digest"] == str(read_source(built["argv"]).manifest_digest)
    assert by_classic[0]["platform"] == "linux/386"
    _, by_pull, _ = judged(*sources, "--metric", "pull_bytes", dockerd=dockerd)
    assert [j["source"] for j in by_pull] == [sources[1], sources[2], sources[0]]  # 623 B < 629 B


def test_all_accepted_exits_0_and_the_table_shows_the_verdicts(
    built: dict[str, Path], dockerd: Dockerd
) -> None:
    result = cli(*JUDGE, str(built["embed"]), environ={"DOCKER_HOST": dockerd.url})
    assert result.code == 0, result.stderr
    assert "ACCEPTED" in result.text and "71B (71)" in result.text and "docker_classic" in result.text


def test_failures_show_the_reason_and_stderr(built: dict[str, Path], dockerd: Dockerd) -> None:
    result = cli(*JUDGE, str(built["host-echo"]), environ={"DOCKER_HOST": dockerd.url, "COLUMNS": "300"})
    assert result.code == 1
    assert "START_FAILED" in result.text and "/lib64/ld-linux-x86-64.so.2" in result.text
    assert "stderr of run 1" in result.text and "exec /echo" in result.text


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", "0"],
        ["--phrase", ""],
        ["--phrase", "a\rb"],
        ["--metric", "bogus"],
        ["--match", "line", "--phrase", "two\nlines"],
        ["--platform", "linux/sparc"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], built: dict[str, Path]) -> None:
    try:
        code = cli(
            *JUDGE, str(built["embed"]), *argv, environ={"DOCKER_HOST": "unix:///nonexistent.sock"}
        ).code
    except SystemExit as exit_:  # argparse's own errors
        code = int(exit_.code or 0)
    assert code == 2


def test_a_source_that_is_neither_a_file_nor_a_reference_exits_2() -> None:
    result = cli(*JUDGE, "Not A Reference!", environ={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.code == 2
    assert "neither an existing file" in result.stderr


def test_no_engine_exits_3_when_an_image_must_run(built: dict[str, Path]) -> None:
    result = cli(*JUDGE, str(built["embed"]), environ={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == 3
    assert "does not answer" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_without_images_to_run_no_engine_is_needed(tmp_path: Path) -> None:
    result = cli(*JUDGE, str(tmp_path / "missing.tar"), environ={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.code == 1
    assert "PULL_FAILED" in result.text


def test_the_judge_process_survives_hostile_images(built: dict[str, Path], dockerd: Dockerd) -> None:
    names = ["memory-bomb", "endless-stdout", "fork-bomb", "phrase-in-entrypoint"]
    result = subprocess.run(
        [*IMAGEGOLF, *JUDGE, *(str(built[n]) for n in names), "--json"],
        capture_output=True,
        env={"PATH": os.environ["PATH"], "DOCKER_HOST": dockerd.url},
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    verdicts = {Path(j["source"]).stem: j["verdict"] for j in json.loads(result.stdout)}
    assert verdicts == {
        "memory": "MEMORY_LIMIT",
        "yes": "OUTPUT_LIMIT",
        "fork": "RUNTIME_ERROR",
        "entrypoint": "START_FAILED",
    }


def test_registry_references_are_pulled_once_and_judged_by_digest(
    built: dict[str, Path], dockerd: Dockerd, registry_open: DistributionRegistry
) -> None:
    image = read_source(built["embed"])
    client = open_registry(registry_open.host)
    client.push_image("judge/golf", image, "latest")
    tag = f"{registry_open.host}/judge/golf:latest"
    pinned = f"{registry_open.host}/judge/golf@{image.manifest_digest}"
    wrong = f"{registry_open.host}/judge/golf@sha256:{'0' * 64}"
    code, judgements, _ = judged(tag, pinned, wrong, f"{registry_open.host}/judge/none:x", dockerd=dockerd)
    assert code == 1
    by_source = {j["source"]: j for j in judgements}
    assert by_source[tag]["verdict"] == by_source[pinned]["verdict"] == "ACCEPTED"
    assert by_source[tag]["digest"] == by_source[pinned]["digest"] == str(image.manifest_digest)
    assert by_source[wrong]["verdict"] == "PULL_FAILED"
    assert by_source[f"{registry_open.host}/judge/none:x"]["verdict"] == "PULL_FAILED"
