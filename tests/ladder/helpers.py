"""Shared by the ladder tests: the message, the CLI with the ladder command, fake run results."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from imagegolf.cli import main as cli_main
from imagegolf.engine import RunResult
from tests.cli.run_cli import Outcome, cli

MESSAGE = b"hello IDBS engineering\n"
LOADER = "/lib64/ld-linux-x86-64.so.2"


def ladder_cli(monkeypatch: pytest.MonkeyPatch, *argv: str, environ: Mapping[str, str]) -> Outcome:
    """``imagegolf ladder …`` in-process, whether or not main's COMMANDS lists it yet."""
    if "ladder" not in cli_main.COMMANDS:
        monkeypatch.setattr(cli_main, "COMMANDS", (*cli_main.COMMANDS, "ladder"))
    return cli("ladder", *argv, environ=environ)


def result(exit_code: int | None, stdout: bytes = b"", stderr: bytes = b"", error: str = "") -> RunResult:
    return RunResult(exit_code, stdout, stderr, 5, False, False, False, error)
