"""Running host toolchains for a rung: find each tool on PATH, run it, record what was done."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagegolf.errors import EnvironmentProblem

# Debian 12 package of each tool the ladder runs, for the install command a skipped rung shows.
APT_PACKAGE = {
    "go": "golang-go",
    "gcc": "gcc",
    "musl-gcc": "musl-tools",
    "nasm": "nasm",
    "ld": "binutils",
    "strip": "binutils",
    "upx": "upx-ucl",
    "mmdebstrap": "mmdebstrap",
    "busybox": "busybox-static",
    "echo": "coreutils",
}
# upx-ucl is not in Debian 12's main suite; bookworm-backports has 4.2.2.
APT_TARGET = {"upx-ucl": "-t bookworm-backports "}
TOOL_TIMEOUT_S = 900


def install_command(tool: str) -> str:
    package = APT_PACKAGE.get(tool, tool)
    return f"sudo apt-get install {APT_TARGET.get(package, '')}{package}"


class ToolMissing(EnvironmentProblem):
    """A rung's toolchain is not installed: the rung is SKIPPED, the rest of the ladder goes on."""

    def __init__(self, tool: str, why: str = "") -> None:
        self.tool = tool
        self.install = install_command(tool)
        what = why or f"{tool} is not installed"
        super().__init__(what, hint=f"run `{self.install}`")


class BuildFailed(EnvironmentProblem):
    """A toolchain ran and failed: its command and the end of its output."""


@dataclass
class Workbench:
    """Where one rung is built: a scratch directory, the environment tools see, a cache, the log."""

    directory: Path
    environ: Mapping[str, str]
    cache: Path
    log: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.environ.get("PATH", "")

    def which(self, tool: str) -> str:
        """The tool's path on this workbench's PATH, or :class:`ToolMissing` naming the package."""
        found = shutil.which(tool, path=self.path)
        if not found:
            raise ToolMissing(tool)
        return found

    def which_optional(self, tool: str) -> str | None:
        return shutil.which(tool, path=self.path)

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a command in the scratch directory, logging it as a shell line."""
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        self.log.append("$ " + (extra + " " if extra else "") + shlex.join(argv))
        environ = {**self.environ, **(env or {})}
        try:
            done = subprocess.run(
                list(argv),
                cwd=self.directory,
                env=environ,
                capture_output=True,
                timeout=TOOL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildFailed(f"`{shlex.join(argv)}` ran longer than {TOOL_TIMEOUT_S} s") from None
        if check and done.returncode != 0:
            tail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-1500:]
            raise BuildFailed(f"`{shlex.join(argv)}` failed with exit code {done.returncode}: {tail}")
        return done

    def version(self, tool: str, argv: Sequence[str]) -> str:
        """The first line a version command prints, recorded once per tool."""
        if tool not in self.versions:
            try:
                done = subprocess.run(
                    list(argv), env=dict(self.environ), capture_output=True, timeout=60, check=False
                )
                text = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
            except (OSError, subprocess.TimeoutExpired):
                text = ""
            self.versions[tool] = text.splitlines()[0] if text else "unknown version"
            self.log.append(f"# {tool}: {self.versions[tool]}")
        return self.versions[tool]

    @property
    def toolchain(self) -> str:
        """Every tool version recorded, in the order first used."""
        return " + ".join(self.versions.values())

    def write(self, name: str, data: bytes | str) -> Path:
        target = self.directory / name
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
        return target

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/imagegolf`` or ``~/.cache/imagegolf``."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "imagegolf"
