"""Errors from below the front ends name settings, never the CLI's flags (issue 19): the core is
called by the CLI, the web and the contest service alike, and only the CLI has flags. A core error
lists the settings that fix it (``errors.Setting``); cli/main.py prints each one's flag."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

from imagegolf.cli import main as cli_main
from imagegolf.errors import ImagegolfError, Setting

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "imagegolf"
FRONT_ENDS = ("cli", "web")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_QUOTED = re.compile(r"`[^`]*`")  # another tool's command line, quoted: `podman … --runtime runc …`


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _parsers(child)


def _our_flags() -> set[str]:
    return {
        option
        for parser in _parsers(cli_main.make_parser())
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def _error_texts(path: Path) -> Iterator[tuple[int, str]]:
    """String literals inside ``raise`` statements, and module constants named ``*_HINT``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            roots: list[ast.AST] = [node.exc]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("HINT") for t in node.targets
        ):
            roots = [node.value]
        else:
            continue
        for root in roots:
            for sub in ast.walk(root):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.lineno, sub.value


def test_errors_below_the_front_ends_name_no_flag_of_the_cli() -> None:
    flags = _our_flags()
    assert {"--insecure", "--username", "--db", "--metric", "--platform"} <= flags  # the scan sees them
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in FRONT_ENDS:
            continue
        for line, text in _error_texts(path):
            named = set(_FLAG.findall(_QUOTED.sub("", text))) & flags
            if named:
                found.append(f"{path.relative_to(ROOT)}:{line}: {', '.join(sorted(named))}: {text[:70]!r}")
    assert not found, "core errors naming CLI flags (name the setting, list it in settings=):\n" + "\n".join(
        found
    )


def test_the_cli_names_a_flag_for_every_setting() -> None:
    assert set(cli_main.FLAGS) == set(Setting)
    assert all(flag.split()[0] in _our_flags() for flag in cli_main.FLAGS.values())


def test_the_cli_prints_the_flags_of_the_settings_an_error_names() -> None:
    error = ImagegolfError(
        "TLS with registry r failed", hint="trust its CA", settings=(Setting.CA_BUNDLE, Setting.INSECURE)
    )
    assert cli_main.described(error) == (
        "TLS with registry r failed (trust its CA; flags: --ca-bundle FILE, --insecure)"
    )
    assert cli_main.described(ImagegolfError("plain", hint="h")) == "plain (h)"
