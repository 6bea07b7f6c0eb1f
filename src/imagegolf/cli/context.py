"""The environment a command runs in: streams and variables, injectable for in-process tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO


@dataclass
class Context:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def stdout_bytes(self) -> BinaryIO:
        """The binary side of stdout (a run's output passes through byte for byte)."""
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is None:
            raise RuntimeError("stdout has no binary buffer")
        return buffer  # type: ignore[no-any-return]

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)
