"""parse_json (imagegolf/json_input.py): json.loads on every document it accepts, a BadInputError
(never RecursionError, ValueError or a hang) on everything else."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegolf.errors import BadInputError, LimitExceededError
from imagegolf.json_input import MAX_DEPTH, MAX_DIGITS, nesting_exceeds, parse_json

# Hypothesis's text() has no surrogates unless asked: these are the documents parse_json must accept.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**MAX_DIGITS) + 1, max_value=10**MAX_DIGITS - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=40,
)
# How json.dumps may write them: compact or not, ASCII escapes or raw UTF-8.
layouts = st.fixed_dictionaries(
    {
        "ensure_ascii": st.booleans(),
        "indent": st.none() | st.integers(0, 2),
        "separators": st.sampled_from([None, (",", ":"), (" , ", " : ")]),
    }
)
# Text near JSON: brackets, quotes, escapes (surrogate halves among them), numbers, literals.
JSONISH = [
    *'[]{}",:\\ \n0123456789.-+eE',
    *["true", "false", "null", "NaN", "Infinity", "9" * 101, '"\\ud800"', "\\udfff", '"\\ud83d\\ude00"'],
]
near_json = st.lists(st.sampled_from(JSONISH), max_size=60).map(lambda parts: "".join(parts).encode())


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def acceptable(value: Any) -> bool:
    """What parse_json promises to accept once json.loads has: within the caps, standard, UTF-8-able."""
    if isinstance(value, list):
        return all(map(acceptable, value))
    if isinstance(value, dict):
        return all(map(acceptable, value)) and all(map(acceptable, value.values()))
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return len(str(abs(value))) <= MAX_DIGITS
    if isinstance(value, float):
        return math.isfinite(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(documents, layouts)
def test_every_standard_document_parses_as_json_loads_parses_it(value: Any, layout: dict[str, Any]) -> None:
    data = json.dumps(value, **layout).encode()
    parsed, expected = parse_json(data), json.loads(data)
    assert parsed == expected and repr(parsed) == repr(expected)  # repr: 1 and 1.0 differ
    for limit in {max(depth(value) - 1, 0), depth(value)}:
        assert nesting_exceeds(data, limit) == (depth(value) > limit)


@settings(max_examples=1500, deadline=None)
@given(near_json | st.binary(max_size=40))
def test_any_bytes_give_json_loads_answer_or_a_bad_input_error(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError):
        expected = BadInputError  # json.loads refuses it: so must parse_json
    try:
        parsed = parse_json(data)
    except BadInputError:
        assert expected is BadInputError or not acceptable(expected) or depth(expected) > MAX_DEPTH
        return
    assert expected is not BadInputError and acceptable(expected)
    assert parsed == expected and repr(parsed) == repr(expected)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3 * MAX_DEPTH), st.text(alphabet='[]{}"\\', max_size=6))
def test_nesting_is_counted_outside_strings_only(levels: int, noise: str) -> None:
    inner = json.dumps(noise)  # brackets, quotes and backslashes inside a string: text, not structure
    data = ("[" * levels + inner + "]" * levels).encode()
    if levels > MAX_DEPTH:
        with pytest.raises(BadInputError, match=f"more than {MAX_DEPTH} levels deep"):
            parse_json(data)
    else:
        assert parse_json(data) == json.loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,  # json.loads: RecursionError
        b'{"a":' * 100_000,
        b"[" * 65 + b"]" * 65,
        b'{"submission": ' + b"[" * 1000 + b"1" + b"]" * 1000 + b"}",
    ],
)
def test_deep_nesting_is_refused_before_parsing(data: bytes) -> None:
    with pytest.raises(BadInputError, match="nests arrays and objects more than 64 levels deep"):
        parse_json(data)


def test_the_depth_cap_is_inclusive_and_can_be_set() -> None:
    assert parse_json(b"[" * 64 + b"]" * 64) is not None
    assert parse_json(b"[[1]]", max_depth=2) == [[1]]
    with pytest.raises(BadInputError, match="more than 1 levels"):
        parse_json(b"[[1]]", max_depth=1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"NaN", "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b"1e999", "the number 1e999 is out of range"),
        (b"[-1e999]", "the number -1e999 is out of range"),
        (b"1" * 101, "an integer of 101 digits (at most 100)"),
        (b"-" + b"9" * 5000, "an integer of 5000 digits"),  # json.loads: ValueError (4300 digits)
        (b'["\\ud800"]', "holds half of a UTF-16 surrogate pair"),
        (b'{"\\udc00": 1}', "holds half of a UTF-16 surrogate pair"),
        (b'"\\ude00\\ud83d"', "holds half of a UTF-16 surrogate pair"),  # a pair the wrong way round
        (b'{"a": "\xff"}', "not UTF-8 at byte 7"),
        (b"\xef\xbb\xbf{}", "not JSON"),  # a UTF-8 byte order mark
        (b"", "not JSON"),
        (b"{} {}", "not JSON"),
    ],
)
def test_non_standard_json_is_refused_with_a_message(data: bytes, message: str) -> None:
    with pytest.raises(BadInputError) as refused:
        parse_json(data)
    assert message in str(refused.value)
    assert type(refused.value) is BadInputError


def test_what_is_accepted_at_the_edges() -> None:
    assert parse_json(b"9" * 100) == int("9" * 100)
    assert parse_json(b"1e308") == 1e308
    assert parse_json(b'"\\ud83d\\ude00"') == "\U0001f600"  # a surrogate pair is one character
    assert parse_json(b'"\\\\ud800"') == "\\ud800"  # an escaped backslash, then text
    assert parse_json(b' {"a": [1, 2.5, "x", null, true]} ') == {"a": [1, 2.5, "x", None, True]}


def test_size_cap_names_and_hint() -> None:
    with pytest.raises(LimitExceededError, match="the notification is 11 bytes, more than the 10 allowed"):
        parse_json(b'{"a": "bc"}', what="the notification", max_bytes=10)
    with pytest.raises(BadInputError) as refused:
        parse_json(b"[", what="the notification", hint='send {"events": [...]}')
    assert str(refused.value).startswith("the notification is not JSON: ")
    assert str(refused.value).endswith('(send {"events": [...]})')


@pytest.mark.parametrize(
    "data",
    [
        b'"\\' * 500_000,  # each quote opens a string that never closes: was quadratic (22 s at 64 KB)
        b'"\\"' * 300_000,
        b'"' + b"\\" * 999_999,
        b"[" * 500_000 + b'"' * 500_000,
    ],
)
def test_hostile_megabyte_is_refused_in_linear_time(data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(BadInputError):
        parse_json(data)
    assert time.monotonic() - started < 2.0
