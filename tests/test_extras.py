"""Install what you use: the entrant's commands run on the core dependencies alone, and a command
that needs an extra says which one to install (exit 3), never with a traceback.

The subprocess tests hide every module an extra installs behind a meta-path finder, as if only the
core dependencies were installed; tests/test_wheel_install.py does it for real, in a clean venv.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from packaging.requirements import Requirement

from imagegolf.cli import main as cli_main
from imagegolf.cli.context import Context
from imagegolf.extras import EXTRA_OF_MODULE, Extra, closure

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "imagegolf"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Every module an extra installs, and the ones pyproject.toml's extras name that imagegolf's own
# code does not import (psycopg's compiled half).
HIDDEN = sorted({*EXTRA_OF_MODULE, "psycopg_binary", "multipart"})

# The imagegolf command, with the extras' modules hidden from the import system.
RUNNER = """
import importlib.abc, sys

HIDDEN = frozenset(sys.argv[1].split(","))

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Hide())
sys.argv = ["imagegolf", *sys.argv[2:]]
from imagegolf.cli.main import entry
entry()
"""


def core_only(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    runner = tmp_path / "core_only.py"
    runner.write_text(RUNNER)
    return subprocess.run(
        [sys.executable, str(runner), ",".join(HIDDEN), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_entrants_commands_need_no_extra(tmp_path: Path) -> None:
    built = core_only(tmp_path, "build", "hello from the core", "-o", "image.tar")
    assert built.returncode == 0, built.stderr
    assert "wrote    image.tar" in built.stdout
    inspected = core_only(tmp_path, "inspect", "image.tar")
    assert inspected.returncode == 0, inspected.stderr
    assert re.search(r"^digest +sha256:[0-9a-f]{64}$", inspected.stdout, re.MULTILINE)
    explained = core_only(tmp_path, "explain", "image.tar")
    assert explained.returncode == 0, explained.stderr
    assert "/a: " in explained.stdout
    for command in ("push", "pull", "run"):
        helped = core_only(tmp_path, command, "--help")
        assert helped.returncode == 0, helped.stderr
        assert helped.stdout.startswith(f"usage: imagegolf {command} ")


def test_the_full_help_lists_every_command_without_extras(tmp_path: Path) -> None:
    helped = core_only(tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    listed = re.findall(r"^    (\w+) ", helped.stdout, re.MULTILINE)
    assert listed == list(cli_main.COMMANDS)


@pytest.mark.parametrize(
    ("argv", "extras"),
    [
        (("serve", "--help"), "contest"),
        (("serve",), "contest"),
        (("contest", "--help"), "contest"),
        (("contest", "init", "--repository", "127.0.0.1:5000/idbs", "--phrase", "hi"), "contest"),
        (("ladder", "--help"), "ladder"),
        (("judge", "image.tar"), "judge"),
        (("demo", "--no-serve"), "contest,ladder"),
    ],
)
def test_a_command_of_an_extra_says_which_to_install(
    tmp_path: Path, argv: tuple[str, ...], extras: str
) -> None:
    ran = core_only(tmp_path, *argv)
    names = extras.split(",")
    which = f"the {names[0]} extra" if len(names) == 1 else f"the {' and '.join(names)} extras"
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout == ""
    assert re.fullmatch(
        rf"imagegolf: error: 'imagegolf {argv[0]}' needs {which} \(module \w+ is missing\): "
        rf"pip install 'imagegolf\[{extras}\]'\n",
        ran.stderr,
    ), ran.stderr


def _fake_command(raised: BaseException) -> SimpleNamespace:
    def handler(_args: Any, _ctx: Context) -> int:
        raise raised

    def register(sub: Any) -> None:
        sub.add_parser("build").set_defaults(handler=handler)

    return SimpleNamespace(register=register)


def test_a_module_of_an_extra_missing_midway_names_that_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command the table does not tie to an extra, reaching for one module of it while it runs."""
    missing = ModuleNotFoundError("No module named 'matplotlib.pyplot'", name="matplotlib.pyplot")
    monkeypatch.setattr(cli_main, "_command", lambda _name: _fake_command(missing))
    err = io.StringIO()
    code = cli_main.main(["build"], Context(stdout=io.StringIO(), stderr=err, environ={}))
    assert code == 3
    assert err.getvalue() == (
        "imagegolf: error: 'imagegolf build' needs the ladder extra (module matplotlib is missing): "
        "pip install 'imagegolf[ladder]'\n"
    )


def test_the_full_help_lists_a_command_whose_module_needs_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = cli_main._command

    def command(name: str) -> Any:
        if name == "serve":
            raise ModuleNotFoundError("No module named 'fastapi'", name="fastapi")
        return real(name)

    monkeypatch.setattr(cli_main, "_command", command)
    text = cli_main.make_parser().format_help()
    assert re.findall(r"^    (\w+) ", text, re.MULTILINE) == list(cli_main.COMMANDS)
    assert "serve 'imagegolf serve' needs the contest extra (module fastapi is missing): " in " ".join(
        text.split()
    )


def test_any_other_missing_module_is_a_bug_and_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = ModuleNotFoundError("No module named 'zstandard'", name="zstandard")
    monkeypatch.setattr(cli_main, "_command", lambda _name: _fake_command(missing))
    with pytest.raises(ModuleNotFoundError):
        cli_main.main(["build"], Context(stdout=io.StringIO(), stderr=io.StringIO(), environ={}))


# pyproject.toml and the table agree -------------------------------------------------------------


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _distributions(requirements: Iterable[str]) -> set[str]:
    """The distributions ``requirements`` install (this project's own extras expanded), transitively."""
    found: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        name = _name(str(requirement))
        if name == "imagegolf":
            for extra in requirement.extras:
                todo.extend(PYPROJECT["optional-dependencies"][extra])
            continue
        if name in found:
            continue
        found.add(name)
        for inner in metadata.requires(name) or ():
            marker = Requirement(inner).marker
            if marker is None or marker.evaluate({"extra": next(iter(requirement.extras), "")}):
                todo.append(inner)
    return found


def _distribution_of(module: str) -> set[str]:
    return {re.sub(r"[-_.]+", "-", name).lower() for name in metadata.packages_distributions()[module]}


CORE = _distributions(PYPROJECT["dependencies"])


@pytest.mark.parametrize("module", sorted(EXTRA_OF_MODULE))
def test_each_module_of_the_table_comes_with_its_extra_and_not_with_the_core(module: str) -> None:
    extra = EXTRA_OF_MODULE[module]
    assert _distribution_of(module) & _distributions(PYPROJECT["optional-dependencies"][extra.value])
    assert not _distribution_of(module) & CORE


def test_the_extras_are_pyprojects() -> None:
    declared = set(PYPROJECT["optional-dependencies"])
    assert {extra.value for extra in Extra} | {"all", "dev"} == declared
    for extra in Extra:
        nested = {
            Extra(name)
            for r in PYPROJECT["optional-dependencies"][extra.value]
            if _name(r) == "imagegolf"
            for name in Requirement(r).extras
        }
        assert closure(extra) == {extra, *nested}
    everything = _distributions(r for extra in Extra for r in PYPROJECT["optional-dependencies"][extra.value])
    assert _distributions(PYPROJECT["optional-dependencies"]["all"]) == everything
    assert everything <= _distributions(PYPROJECT["optional-dependencies"]["dev"])


def _imported_modules() -> set[str]:
    """The top-level modules src/imagegolf imports, anywhere in a module (function-level too)."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"imagegolf"}


def test_every_module_imagegolf_imports_is_core_or_in_the_table() -> None:
    for module in sorted(_imported_modules()):
        assert module in EXTRA_OF_MODULE or _distribution_of(module) & CORE, (
            f"{module}: add its distribution to pyproject.toml's dependencies, or to an extra and to "
            "imagegolf/extras.py's EXTRA_OF_MODULE"
        )
