"""The wheel, installed as an entrant would (``pip install imagegolf``): in a clean virtualenv, with
the core dependencies only, run from outside the checkout so that nothing of the source tree can be
imported. ``imagegolf build`` there makes the same bytes as the development install, ``inspect``
reads them, and a command of an extra says which extra to install.

It needs the package index (or pip's cache) for the core dependencies: with neither it fails and
says so. It never skips: CI has the package registries.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "imagegolf"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PHRASE = "hello from a clean install"

pytestmark = pytest.mark.slow


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _clean_env() -> dict[str, str]:
    """This process's environment without the project's virtualenv or paths (pip's settings stay)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p).resolve().is_relative_to(ROOT)
    )
    return env


def _build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    """``pip wheel`` of a copy of the project (the build's own files stay out of the checkout)."""
    source = tmp / "source"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    )
    dist = tmp / "dist"
    wheel = ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), "."]
    built = _run([sys.executable, "-m", "pip", *wheel], source, env, timeout=300)
    assert built.returncode == 0, (
        f"pip wheel failed (the project venv's setuptools, from pyproject.toml's dev extra):\n{built.stderr}"
    )
    (built_wheel,) = dist.glob("imagegolf-*.whl")
    return built_wheel


def _package_data() -> set[str]:
    """pyproject.toml's package data, as the wheel's names (imagegolf/web/templates/base.html …)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    names: set[str] = set()
    for package, patterns in data.items():
        folder = ROOT / "src" / Path(*package.split("."))
        for pattern in patterns:
            names.update(p.relative_to(ROOT / "src").as_posix() for p in folder.glob(pattern))
    return names


def _extras_distributions() -> set[str]:
    """What the extras list (not the test tools): none of it may come with the core."""
    names: set[str] = set()
    for extra, requirements in PROJECT["optional-dependencies"].items():
        if extra != "dev":
            names.update(Requirement(r).name for r in requirements)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names} - {"imagegolf"}


def test_the_wheel_installs_and_builds_in_a_clean_virtualenv(tmp_path: Path) -> None:
    env = _clean_env()
    wheel = _build_wheel(tmp_path, env)

    names = set(zipfile.ZipFile(wheel).namelist())
    data = _package_data()
    assert any(name.startswith("imagegolf/ladder/programs/") for name in data)
    assert any(name.startswith("imagegolf/web/templates/") for name in data)
    assert any(name.startswith("imagegolf/web/static/") for name in data)
    assert data <= names, sorted(data - names)
    modules = {
        p.relative_to(ROOT / "src").as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts
    }
    assert modules <= names, sorted(modules - names)

    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    assert created.returncode == 0, f"python3 -m venv failed (Debian's python3-venv):\n{created.stderr}"
    python, pip, imagegolf = (str(venv / "bin" / name) for name in ("python", "pip", "imagegolf"))
    unreachable = "pip could not install the wheel's core dependencies: is the package index reachable?"
    try:
        installed = _run(
            [pip, "install", "-q", "--disable-pip-version-check", str(wheel)], tmp_path, env, 600
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{unreachable} (no answer in 600 s)")
    assert installed.returncode == 0, f"{unreachable}\n{installed.stderr[-3000:]}"

    listed = _run([pip, "list", "--format=json", "--disable-pip-version-check"], tmp_path, env)
    present = {re.sub(r"[-_.]+", "-", p["name"]).lower() for p in json.loads(listed.stdout)}
    assert "imagegolf" in present
    assert not present & _extras_distributions(), sorted(present & _extras_distributions())

    work = tmp_path / "work"  # outside the checkout: only the installed wheel can be imported
    work.mkdir()
    where = _run([python, "-c", "import imagegolf; print(imagegolf.__file__)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where

    clean = _run([imagegolf, "build", PHRASE, "-o", "clean.tar"], work, env)
    assert clean.returncode == 0, clean.stderr
    dev = _run(
        [sys.executable, "-m", "imagegolf.cli", "build", PHRASE, "-o", "dev.tar"], work, os.environ.copy()
    )
    assert dev.returncode == 0, dev.stderr
    assert (work / "clean.tar").read_bytes() == (work / "dev.tar").read_bytes()

    inspected = _run([imagegolf, "inspect", "--json", "clean.tar"], work, env)
    assert inspected.returncode == 0, inspected.stderr
    reference = _run(
        [sys.executable, "-m", "imagegolf.cli", "inspect", "--json", "clean.tar"], work, os.environ.copy()
    )
    assert json.loads(inspected.stdout) == json.loads(reference.stdout)

    served = _run([imagegolf, "serve", "--help"], work, env)
    assert served.returncode == 3
    assert "'imagegolf serve' needs the contest extra" in served.stderr
    assert "pip install 'imagegolf[contest]'" in served.stderr
    assert "Traceback" not in served.stderr
