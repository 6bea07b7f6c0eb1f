"""Does stdout say the phrase? Bytes are compared after one documented normalisation.

1. stdout must be valid UTF-8;
2. it must hold no control or format character other than newline and tab: carriage return,
   backspace, ANSI escape sequences, NUL, DEL, C1 controls, zero-width and bidi characters
   (Unicode categories Cc and Cf, and the line/paragraph separators) make a console show text
   the program did not print in that order (docs/judge.md #22);
3. the one normalisation: in ``contains`` mode the ASCII letters A-Z are folded to a-z on both
   sides. Nothing else changes: no Unicode case folding (the Kelvin sign does not become "k"),
   no NFC/NFKC, no trimming. ``line`` and ``exact`` compare exactly; ``exact`` allows one
   trailing newline.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from imagegolf.errors import UsageError

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ALLOWED_CONTROLS = frozenset("\n\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_PREVIEW_CHARS = 60


class MatchMode(enum.Enum):
    CONTAINS = "contains"  # stdout contains the phrase, ASCII letters case-insensitive (default)
    LINE = "line"  # one line of stdout is exactly the phrase
    EXACT = "exact"  # stdout is exactly the phrase, with at most one trailing newline

    def describe(self) -> str:
        return {
            MatchMode.CONTAINS: "contains the phrase (ASCII letters compared case-insensitively)",
            MatchMode.LINE: "has a line that is exactly the phrase",
            MatchMode.EXACT: "is exactly the phrase (one trailing newline allowed)",
        }[self]


@dataclass(frozen=True)
class OutputCheck:
    matched: bool
    reason: str  # why not, for a contestant; empty when matched


def check_phrase(phrase: str, mode: MatchMode) -> None:
    """A phrase the judge can look for, or a usage error saying why not."""
    if not phrase:
        raise UsageError("the phrase is empty", hint="give the text the program must print")
    bad = first_refused_character(phrase.rstrip("\n") if mode is MatchMode.EXACT else phrase)
    if bad is not None:
        raise UsageError(f"the phrase holds {describe_character(bad[1])}, which no accepted output can hold")
    if mode is MatchMode.LINE and "\n" in phrase:
        raise UsageError(
            "match 'line': the phrase must be one line", hint="match 'exact' takes a phrase of several lines"
        )


def check_output(stdout: bytes, phrase: str, mode: MatchMode) -> OutputCheck:
    """Whether ``stdout`` (bytes as the container wrote them) shows ``phrase`` under ``mode``."""
    try:
        text = stdout.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = stdout[error.start]
        return OutputCheck(False, f"stdout is not valid UTF-8 (byte 0x{byte:02x} at offset {error.start})")
    bad = first_refused_character(text)
    if bad is not None:
        index, char = bad
        return OutputCheck(
            False,
            f"stdout holds {describe_character(char)} at character {index}: only newline and tab are "
            "allowed, since carriage returns, backspaces and escape sequences change what a console shows",
        )
    if _matches(text, phrase, mode):
        return OutputCheck(True, "")
    return OutputCheck(False, f"stdout {preview(text)} {_negated(mode)}{_lookalike_hint(text, phrase)}")


def _matches(text: str, phrase: str, mode: MatchMode) -> bool:
    if mode is MatchMode.CONTAINS:
        return phrase.translate(_ASCII_FOLD) in text.translate(_ASCII_FOLD)
    if mode is MatchMode.LINE:
        return phrase in text.split("\n")
    return text.removesuffix("\n") == phrase.removesuffix("\n")


def first_refused_character(text: str) -> tuple[int, str] | None:
    for index, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in _REFUSED_CATEGORIES:
            return index, char
    return None


def printable(text: str) -> str:
    """``text`` with every refused character escaped (``\\x1b``), safe to show on a console."""
    return "".join(
        c if c in _ALLOWED_CONTROLS or unicodedata.category(c) not in _REFUSED_CATEGORIES else _escape(c)
        for c in text
    )


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def describe_character(char: str) -> str:
    """``U+000D (CARRIAGE RETURN)``; control characters have no Unicode name, so a table names them."""
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "a control character")
    return f"U+{ord(char):04X} ({name})"


def preview(text: str) -> str:
    """A short quoted excerpt of stdout for a reason sentence."""
    if len(text) <= _PREVIEW_CHARS:
        return repr(text)
    return f"{text[:_PREVIEW_CHARS]!r}… ({len(text)} characters)"


def _negated(mode: MatchMode) -> str:
    return {
        MatchMode.CONTAINS: "does not contain the phrase (ASCII letters compared case-insensitively)",
        MatchMode.LINE: "has no line that is exactly the phrase",
        MatchMode.EXACT: "is not exactly the phrase (one trailing newline allowed)",
    }[mode]


def _lookalike_hint(text: str, phrase: str) -> str:
    if not phrase.isascii():
        return ""
    foreign = next((c for c in text if not c.isascii() and c.isalpha()), None)
    if foreign is None:
        return ""
    return f"; it has non-ASCII letters such as {describe_character(foreign)}, which never match ASCII ones"


_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE, which starts ANSI escape sequences",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
