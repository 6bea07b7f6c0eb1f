"""The matching rules and their one normalisation (docs/judge.md), on bytes alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagegolf.errors import UsageError
from imagegolf.judge.matching import MatchMode, check_output, check_phrase, printable

PHRASE = "hello IDBS engineering"
CONTAINS, LINE, EXACT = MatchMode.CONTAINS, MatchMode.LINE, MatchMode.EXACT


@pytest.mark.parametrize(
    ("stdout", "mode", "matched"),
    [
        (b"hello IDBS engineering\n", CONTAINS, True),
        (b"HELLO idbs ENGINEERING", CONTAINS, True),  # ASCII letters fold
        (b"well: hello IDBS engineering!\n", CONTAINS, True),
        (b"hello IDBS\nengineering\n", CONTAINS, False),
        (b"hello  IDBS engineering", CONTAINS, False),  # whitespace is not normalised
        (b"first\nhello IDBS engineering\nlast\n", LINE, True),
        (b"first\nhello IDBS engineering \n", LINE, False),
        (b"Hello IDBS engineering\n", LINE, False),  # line and exact are case-sensitive
        (b"hello IDBS engineering", EXACT, True),
        (b"hello IDBS engineering\n", EXACT, True),
        (b"hello IDBS engineering\n\n", EXACT, False),  # one trailing newline only
        (b"\nhello IDBS engineering", EXACT, False),
        (b"hello IDBS engineering\t\n", EXACT, False),
    ],
)
def test_modes(stdout: bytes, mode: MatchMode, matched: bool) -> None:
    assert check_output(stdout, PHRASE, mode).matched is matched


@pytest.mark.parametrize(
    ("stdout", "named"),
    [
        (b"xxxxx\rhello IDBS engineering\n", "CARRIAGE RETURN"),
        (b"\x1b[8mhello IDBS engineering\x1b[0m", "ESCAPE"),
        (b"hello IDBS engineeringX\x08\n", "BACKSPACE"),
        (b"hello IDBS engineering\x00", "NUL"),
        (b"hello IDBS engineering\x7f", "DELETE"),
        ("hello IDBS engineering\u202e".encode(), "RIGHT-TO-LEFT OVERRIDE"),
        ("hello\u200bIDBS engineering".encode(), "ZERO WIDTH SPACE"),
        ("hello IDBS engineering\u2028".encode(), "LINE SEPARATOR"),
        (b"hello IDBS engineering\x0b", "VERTICAL TAB"),
    ],
)
def test_console_tricks_are_refused_in_every_mode(stdout: bytes, named: str) -> None:
    for mode in MatchMode:
        check = check_output(stdout, PHRASE, mode)
        assert not check.matched
        assert named in check.reason


def test_invalid_utf8_is_wrong_output() -> None:
    check = check_output(b"hello IDBS engineering\xff\n", PHRASE, CONTAINS)
    assert not check.matched
    assert "not valid UTF-8 (byte 0xff at offset 22)" in check.reason


@pytest.mark.parametrize(
    "lookalike",
    [
        "h\u0435llo IDBS engineering",  # Cyrillic ie
        "hello \u0406DBS engineering",  # Cyrillic I
        "hello IDBS engineering".replace("e", "\uff45"),  # fullwidth e (NFKC would fold it)
        "hello IDB\u01bd engineering",
    ],
)
def test_lookalikes_do_not_match_and_are_named(lookalike: str) -> None:
    check = check_output(lookalike.encode(), PHRASE, CONTAINS)
    assert not check.matched
    assert "non-ASCII letters such as U+" in check.reason


def test_unicode_case_folding_is_not_applied() -> None:
    # The Kelvin sign lower-cases to "k" and ß case-folds to "ss" in Unicode: neither counts.
    assert not check_output("\u212a".encode(), "k", CONTAINS).matched
    assert not check_output("stra\u00dfe".encode(), "STRASSE", CONTAINS).matched
    assert check_output("stra\u00dfe".encode(), "STRA\u00dfE", CONTAINS).matched  # only A-Z fold


def test_non_ascii_phrases_match_byte_for_byte() -> None:
    assert check_output("¡hola, ñandú!\n".encode(), "¡hola, ñandú!", EXACT).matched


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1))
def test_any_clean_phrase_matches_itself_in_every_mode(phrase: str) -> None:
    for mode in MatchMode:
        if mode is LINE and "\n" in phrase:
            continue
        assert check_output(phrase.encode() + b"\n", phrase, mode).matched


@given(st.binary())
def test_never_raises(stdout: bytes) -> None:
    for mode in MatchMode:
        check_output(stdout, PHRASE, mode)


@pytest.mark.parametrize(
    ("phrase", "mode"), [("", CONTAINS), ("a\rb", CONTAINS), ("two\nlines", LINE), ("\x1b[1m", EXACT)]
)
def test_phrases_that_cannot_match_are_usage_errors(phrase: str, mode: MatchMode) -> None:
    with pytest.raises(UsageError):
        check_phrase(phrase, mode)


def test_exact_phrase_may_end_with_a_newline() -> None:
    check_phrase("hello\n", EXACT)
    assert check_output(b"hello\n", "hello\n", EXACT).matched


def test_printable_escapes_what_a_console_would_obey() -> None:
    assert printable("a\x1b[2Jb\rc\td\n") == "a\\x1b[2Jb\\x0dc\td\n"
    assert printable("x\u202ey") == "x\\u202ey"
