"""Run the CLI in-process with captured streams, as a user would call it."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from imagegolf.cli.context import Context
from imagegolf.cli.main import main


@dataclass
class Outcome:
    code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def cli(*argv: str, environ: Mapping[str, str] | None = None) -> Outcome:
    raw_out = io.BytesIO()
    out = io.TextIOWrapper(raw_out, encoding="utf-8", write_through=True)
    err = io.StringIO()
    code = main(list(argv), Context(stdout=out, stderr=err, environ=dict(environ or {})))
    out.flush()
    return Outcome(code, raw_out.getvalue(), err.getvalue())
