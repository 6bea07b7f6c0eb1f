#!/usr/bin/env python3
"""Write docs/cli.md from the CLI's own parser: every command's ``--help``, word for word.

    .venv/bin/python scripts/cli_docs.py           # rewrite docs/cli.md
    .venv/bin/python scripts/cli_docs.py --check   # exit 1, with a diff, when it is out of date

The page is the intro, a list of commands, then one section per command (``imagegolf``,
``imagegolf build``, …, ``imagegolf contest board add``: the parser tree, depth first, in the
order ``--help`` lists the commands) holding what ``COLUMNS=100 imagegolf … --help`` prints.
Hand-written prose lives between ``<!-- hand-written: KEY -->`` and ``<!-- end hand-written: KEY
-->`` markers (KEY ``intro`` or a command such as ``imagegolf judge``); the generator keeps each
block, by its key, where it belongs and rewrites everything else. A block whose command is gone
is an error (move its prose, or delete it), never silently dropped.

Deterministic: the program name is fixed (``imagegolf``), the width too (``COLUMNS=100``, so
argparse wraps at 98), colour is off, and nothing read from the host goes into a help text.
argparse's wording changes between Python versions; the page records the version that wrote it
(Debian 12's Python 3.11, which scripts/setup.sh uses) and tests/test_docs.py compares only
under that version.

This script imports every command module (through ``make_parser()``); ``imagegolf`` itself never
imports this script, so command start-up pays nothing for it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
COLUMNS = 100
PROG = "imagegolf"
INTRO = "intro"

_BLOCK = re.compile(
    r"^<!-- hand-written: (?P<key>[^>]+?) -->\n(?P<body>.*?)^<!-- end hand-written: (?P=key) -->\n",
    re.MULTILINE | re.DOTALL,
)


class CliDocsError(Exception):
    """docs/cli.md cannot be regenerated as it stands (a hand-written block has lost its place)."""


@dataclass(frozen=True)
class Command:
    """One node of the parser tree: ``path`` is ``("imagegolf", "contest", "board")``."""

    path: tuple[str, ...]
    help: str

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def anchor(self) -> str:
        """The heading's anchor as GitHub (and most Markdown renderers) make it."""
        return "-".join(self.path)


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@contextmanager
def _fixed_terminal() -> Iterator[None]:
    """argparse wraps at ``shutil.get_terminal_size().columns - 2``, which reads $COLUMNS first."""
    saved = {name: os.environ.get(name) for name in ("COLUMNS", "NO_COLOR")}
    os.environ["COLUMNS"] = str(COLUMNS)
    os.environ["NO_COLOR"] = "1"  # argparse colours its help on a terminal from Python 3.14
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _sub_parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """The parser's sub-commands in the order its help lists them, each once (aliases dropped)."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices: Mapping[str, argparse.ArgumentParser] = action.choices
            for name, sub in choices.items():  # insertion order: a name before its aliases
                if id(sub) not in seen:
                    seen.add(id(sub))
                    found.append((name, sub))
    return found


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = (PROG,)) -> Iterator[Command]:
    """Every command under ``parser``, depth first, with its ``--help`` text."""
    yield Command(path, parser.format_help())
    for name, sub in _sub_parsers(parser):
        yield from walk(sub, (*path, name))


def commands() -> list[Command]:
    from imagegolf.cli.main import make_parser  # imports every command module: only here

    with _fixed_terminal():
        return list(walk(make_parser()))


def hand_written(text: str) -> dict[str, str]:
    """The hand-written blocks of a page, by key (bodies end with a newline, or are empty)."""
    blocks: dict[str, str] = {}
    for match in _BLOCK.finditer(text):
        key = match["key"].strip()
        if key in blocks:
            raise CliDocsError(f"docs/cli.md: two hand-written blocks named {key!r}: merge them")
        blocks[key] = match["body"]
    return blocks


def _block(key: str, body: str) -> str:
    return f"<!-- hand-written: {key} -->\n{body}<!-- end hand-written: {key} -->\n"


def render(cmds: list[Command], blocks: Mapping[str, str]) -> str:
    """The whole page: generated parts around the hand-written ``blocks``."""
    known = {INTRO} | {c.name for c in cmds}
    orphans = sorted(set(blocks) - known)
    if orphans:
        raise CliDocsError(
            f"docs/cli.md: hand-written block(s) {', '.join(map(repr, orphans))} name no command any "
            "more: move their prose to a command that exists (or to 'intro'), or delete them"
        )
    out = [
        "# The command line\n",
        "\n",
        f"<!-- Generated by scripts/cli_docs.py from `imagegolf … --help` (COLUMNS={COLUMNS}, "
        f"Python {python_version()}). Edit only between the hand-written markers; run "
        "`.venv/bin/python scripts/cli_docs.py` after changing a flag. -->\n",
        "\n",
        _block(INTRO, blocks.get(INTRO, "")),
        "\n",
        "## Commands\n",
        "\n",
    ]
    for cmd in cmds:
        indent = "  " * (len(cmd.path) - 1)
        out.append(f"{indent}- [`{cmd.name}`](#{cmd.anchor})\n")
    for cmd in cmds:
        out += ["\n", f"## `{cmd.name}`\n", "\n", "```text\n", cmd.help.rstrip("\n") + "\n", "```\n"]
        if cmd.name in blocks:
            out += ["\n", _block(cmd.name, blocks[cmd.name])]
    return "".join(out)


def regenerate(current: str) -> str:
    """What docs/cli.md should hold, given what it holds now (for its hand-written blocks)."""
    return render(commands(), hand_written(current))


def diff(current: str, wanted: str) -> str:
    return "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            "docs/cli.md (as it is)",
            "docs/cli.md (from --help)",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cli_docs.py", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 with a diff if stale")
    args = parser.parse_args(argv)
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    try:
        wanted = regenerate(current)
    except CliDocsError as exc:
        print(f"cli_docs: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if current == wanted:
            return 0
        sys.stdout.write(diff(current, wanted))
        print("docs/cli.md is out of date: run scripts/cli_docs.py", file=sys.stderr)
        return 1
    if current != wanted:
        CLI_MD.write_text(wanted, encoding="utf-8")
        print(f"wrote {CLI_MD.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))  # a checkout without `pip install -e .` works too
    sys.exit(main())
