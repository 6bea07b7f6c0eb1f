"""The docs stay true and stand alone: docs/cli.md is the CLI's own --help, no page cites notes
outside the repository, and docs/architecture.md's layers are the ones import-linter enforces."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _cli_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "scripts" / "cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cli_docs = _cli_docs()


# --- docs/cli.md is generated from --help -------------------------------------------------------


def test_cli_md_is_the_help_of_every_command() -> None:
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    written_by = re.search(r"Python (\d+\.\d+)\)", current)
    assert written_by, "docs/cli.md has lost its generated header: run scripts/cli_docs.py"
    if written_by[1] != cli_docs.python_version():
        why = (
            f"docs/cli.md holds Python {written_by[1]}'s argparse wording; this is Python "
            f"{cli_docs.python_version()}"
        )
        if os.environ.get("CI"):  # CI runs the README's Python (Debian 12's): a mismatch is a bug
            pytest.fail(why + ": regenerate it with the Python CI runs", pytrace=False)
        pytest.skip(why)
    wanted = cli_docs.regenerate(current)
    if current != wanted:
        diff = cli_docs.diff(current, wanted)
        excerpt = "\n".join(diff.splitlines()[:60])
        pytest.fail(
            "docs/cli.md differs from what `imagegolf … --help` prints: run "
            f"`.venv/bin/python scripts/cli_docs.py` (and commit docs/cli.md)\n{excerpt}",
            pytrace=False,
        )


def test_every_command_and_sub_command_is_walked() -> None:
    names = [cmd.name for cmd in cli_docs.commands()]
    assert names[0] == "imagegolf"
    for name in ("imagegolf build", "imagegolf judge", "imagegolf contest board add"):
        assert name in names
    assert len(names) == len(set(names)), "a command (or an alias) is listed twice"


def test_help_is_wrapped_at_the_fixed_width_whatever_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow_terminal = {cmd.name: cmd.help for cmd in cli_docs.commands()}
    monkeypatch.setenv("COLUMNS", "250")
    assert {cmd.name: cmd.help for cmd in cli_docs.commands()} == narrow_terminal


def test_hand_written_blocks_are_kept_and_the_rest_rewritten() -> None:
    cmds = [
        cli_docs.Command(("imagegolf",), "usage: imagegolf\n"),
        cli_docs.Command(("imagegolf", "build"), "usage: imagegolf build\n"),
    ]
    page = cli_docs.render(cmds, {"intro": "Hello.\n", "imagegolf build": "### JSON\n\n{}\n"})
    assert cli_docs.hand_written(page) == {"intro": "Hello.\n", "imagegolf build": "### JSON\n\n{}\n"}
    assert "## `imagegolf build`\n\n```text\nusage: imagegolf build\n```\n" in page
    assert page.index("usage: imagegolf build") < page.index("### JSON")
    stale = page.replace("usage: imagegolf build\n```", "usage: imagegolf build --old-flag\n```")
    assert cli_docs.render(cmds, cli_docs.hand_written(stale)) == page


def test_a_block_whose_command_is_gone_is_an_error_not_lost() -> None:
    with pytest.raises(cli_docs.CliDocsError, match=r"'imagegolf gone'.*no command"):
        cli_docs.render([cli_docs.Command(("imagegolf",), "usage\n")], {"imagegolf gone": "prose\n"})


# --- the docs stand alone -----------------------------------------------------------------------


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _hits(paths: list[Path], pattern: re.Pattern[str]) -> list[str]:
    hits = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return hits


# `architecture.md` is fine as the repository's own page: `docs/architecture.md`, or a link to it.
_PRIVATE_NOTE = re.compile(
    r"facts\.md|attacks\.md|style\.md|(?<!docs/)(?<!\]\()(?<!\]\(\./)\barchitecture\.md"
)


def test_docs_cite_no_notes_outside_the_repository() -> None:
    hits = _hits(_pages(), _PRIVATE_NOTE)
    assert not hits, (
        "these cite private notes that are not in the repository: state the fact and its public "
        "source (kernel file, moby/distribution file and version, spec section) or link the docs/ "
        "page that explains it\n" + "\n".join(hits)
    )


def test_docs_cite_sections_only_of_pages_that_exist() -> None:
    """``NAME.md §3``: NAME.md must be a page of the repository (RFC and spec sections are fine)."""
    section = re.compile(r"([\w./-]+\.md)\s*§")
    missing = []
    for path in _pages():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in section.findall(line):
                if not any((base / name).exists() for base in (path.parent, ROOT, DOCS)):
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name} §")
    assert not missing, "sections of pages that are not in the repository:\n" + "\n".join(missing)


def test_source_comments_cite_no_notes_outside_the_repository() -> None:
    code = [
        path
        for tree in ("src", "tests", "bench", "scripts")
        for path in sorted((ROOT / tree).rglob("*.py"))
        if path != Path(__file__).resolve()  # this file names the notes it looks for
    ]
    hits = _hits(code, _PRIVATE_NOTE)
    assert not hits, (
        "source comments citing private notes (facts.md, architecture.md): name the rule and its "
        "public source instead, or docs/<page>.md\n" + "\n".join(hits)
    )


# --- docs/architecture.md is the map import-linter enforces -------------------------------------


def _contract_layers() -> list[frozenset[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [frozenset(m.strip().removeprefix("imagegolf.") for m in layer.split("|")) for layer in layers]


def _documented_layers() -> list[frozenset[str]]:
    """The fenced block under docs/architecture.md's "## Layers": one layer a line, top first,
    ``a | b`` for a layer of independent packages, then (after two spaces) what it is for."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    section = re.search(r"^## Layers\b.*?^```\w*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert section, 'docs/architecture.md: no fenced layer list under "## Layers"'
    layers = []
    for line in section[1].splitlines():
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if names:
            layers.append(frozenset(n.strip() for n in names.split("|")))
    return layers


def test_architecture_names_every_layer_of_the_import_contract_in_its_order() -> None:
    enforced, documented = _contract_layers(), _documented_layers()
    missing = sorted(set().union(*enforced) - set().union(*documented))
    assert not missing, f"docs/architecture.md's layer list lacks {missing} (pyproject.toml's layers)"
    assert documented == enforced, (
        "docs/architecture.md's layer list differs from pyproject.toml's layers contract:\n"
        f"  documented: {[' | '.join(sorted(layer)) for layer in documented]}\n"
        f"  enforced:   {[' | '.join(sorted(layer)) for layer in enforced]}"
    )
