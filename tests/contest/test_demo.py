"""`imagegolf demo`, the README's main job: registry, contest, ladder pushes, live judging, board."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from imagegolf.db import open_database
from imagegolf.processes import free_port
from tests.cli.run_cli import cli
from tests.services import Dockerd

RUNGS = "asm-elf32-ld,teensy,teensy-modern,teensy-argv"


def test_demo_replays_the_ladder_and_prints_board_and_timeline(tmp_path: Path, dockerd: Dockerd) -> None:
    result = cli(
        "demo",
        "--no-serve",
        "--dir",
        str(tmp_path),
        "--rungs",
        RUNGS,
        environ={**os.environ, "DOCKER_HOST": dockerd.url},
    )
    assert result.code == 0, result.stderr
    text = result.text
    assert "reschenburg  asm-elf32-ld" in text and "ACCEPTED 288B" in text
    assert "REJECTED (duplicate) 71B" in text and "duplicate: its manifest equals dave's" in text
    # Three boards rank the same judgements: the phrase in CMD (pjones's argv image) is on the
    # open board, not on classic, where only the files may make it.
    assert "boards: classic REJECTED_IMAGE, open ACCEPTED 50B, pull ACCEPTED" in text
    classic = text[text.index("board classic: ranked by docker_classic") : text.index("board open:")]
    assert "pjones" not in classic.split("no accepted image yet")[0]
    assert "no accepted image yet: carol, pjones" in classic
    board = text[text.index("board open: ranked by docker_classic") :]
    assert board.index("pjones") < board.index("dave") < board.index("reschenburg")  # 50 < 71 < 288
    assert "board pull: ranked by pull_bytes" in text
    assert "71 B  dave (was 288)" in text and "50 B  pjones (was 71)" in text
    assert not (tmp_path / "registry").exists()  # the registry's storage is removed


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_serves_the_page_and_judges_pushes_from_the_registrys_notifications(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imagegolf.cli",
            "demo",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
            "--rungs",
            "teensy,teensy-argv",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops the demo" in line:
                break
        assert any("Ctrl-C stops the demo" in line for line in lines), "".join(lines) + proc.stderr.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/board", timeout=10) as response:
            board = json.loads(response.read())
        assert board, board
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "pjones" in page and "dave" in page
        with open_database(str(tmp_path / "contest.db")) as db:
            vias = db.run(lambda tx: tx.query("SELECT via FROM submissions ORDER BY id"), write=False)
        assert "hook" in {row["via"] for row in vias}, vias  # docker-registry notified the contest
        os.killpg(proc.pid, stop_signal)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        assert not (tmp_path / "registry").exists()  # the registry was stopped and its storage removed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
