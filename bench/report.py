"""Writing one bench's section into a markdown report that other benches write too."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, lines: list[str]) -> None:
    """Put ``lines`` (starting with ``heading``) in place of that section, or append them.

    A section runs from its ``## `` heading to the next one (or the end of the file).
    """
    text = path.read_text() if path.exists() else ""
    new = "\n".join(lines).rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + "\n\n" + new if text else new)
        return
    end = text.find("\n## ", start + len(heading))
    rest = text[end + 1 :] if end >= 0 else ""
    path.write_text(text[:start] + new + ("\n" + rest if rest else ""))
