"""The judge's rules for boards: ``--exit zero|any`` and ``--message anywhere|files``, and the facts
it records for every judgement (``any_exit``, ``phrase_in``) so a contest can rank one judgement on
several boards. Real runs on the private dockerd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegolf.judge.matching import MatchMode
from imagegolf.judge.message_place import phrase_in_metadata
from imagegolf.store import read_source
from tests.cli.run_cli import cli
from tests.judge.images import PHRASE, busybox_parts, write_oci_archive
from tests.services import Dockerd

pytestmark = pytest.mark.engine
JUDGE = ["judge", "--phrase", PHRASE, "--runs", "2", "--timeout", "5", "--json"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("board-rules")
    out = {"embed": d / "embed.tar", "argv": d / "argv.tar"}
    assert cli("build", "-o", str(out["embed"])).code == 0
    assert cli("build", "--mode", "argv", "-o", str(out["argv"])).code == 0
    out["exit3"] = write_oci_archive(d / "exit3.tar", busybox_parts(f"echo {PHRASE}; exit 3"))
    out["silent-exit3"] = write_oci_archive(d / "silent.tar", busybox_parts("exit 3"))
    # the phrase spelled out by echo's arguments: in the config only once they are joined
    split = busybox_parts(None, Cmd=["/bin/busybox", "echo", *PHRASE.split()])
    out["split-argv"] = write_oci_archive(d / "split.tar", split)
    return out


def judge(source: Path, dockerd: Dockerd, *rules: str) -> dict[str, object]:
    result = cli(*JUDGE, *rules, str(source), environ={"DOCKER_HOST": dockerd.url})
    [judgement] = json.loads(result.text)
    return judgement  # type: ignore[no-any-return]


def test_where_the_phrase_sits_in_the_metadata(images: dict[str, Path]) -> None:
    places = {
        name: phrase_in_metadata(read_source(path), PHRASE, MatchMode.CONTAINS)
        for name, path in images.items()
    }
    assert places == {
        "embed": None,
        "argv": "config",
        "exit3": "config",  # sh -c 'echo hello IDBS engineering; exit 3'
        "silent-exit3": None,
        "split-argv": "config",
    }
    # line/exact compare exactly; contains folds ASCII letters
    argv = read_source(images["argv"])
    assert phrase_in_metadata(argv, PHRASE.upper(), MatchMode.CONTAINS) == "config"
    assert phrase_in_metadata(argv, PHRASE.upper(), MatchMode.EXACT) is None


def test_exit_status_free_accepts_a_right_stdout_with_any_status(
    images: dict[str, Path], dockerd: Dockerd
) -> None:
    strict = judge(images["exit3"], dockerd)
    assert strict["verdict"] == "RUNTIME_ERROR" and strict["any_exit"] == "ACCEPTED"
    assert len(strict["runs"]) == 2  # type: ignore[arg-type]  # both runs, for the any-exit fact
    free = judge(images["exit3"], dockerd, "--exit", "any")
    assert free["verdict"] == "ACCEPTED" and "any exit status" in str(free["reason"])
    silent = judge(images["silent-exit3"], dockerd, "--exit", "any")
    assert silent["verdict"] == "NO_OUTPUT" and silent["any_exit"] == "NO_OUTPUT"
    assert judge(images["embed"], dockerd)["any_exit"] == "ACCEPTED"


def test_message_in_files_only_refuses_an_argv_image(images: dict[str, Path], dockerd: Dockerd) -> None:
    anywhere = judge(images["argv"], dockerd)
    assert anywhere["verdict"] == "ACCEPTED" and anywhere["phrase_in"] == "config"
    files = judge(images["argv"], dockerd, "--message", "files")
    assert files["verdict"] == "REJECTED_IMAGE" and "config holds the phrase" in str(files["reason"])
    assert files["runs"] == []  # decided before anything ran
    embedded = judge(images["embed"], dockerd, "--message", "files")
    assert embedded["verdict"] == "ACCEPTED" and embedded["phrase_in"] is None
