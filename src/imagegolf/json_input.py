"""JSON from strangers: one parser with a size cap and a depth cap, standard JSON only.

Python's ``json`` recurses once per nesting level, so ``[`` × 100,000 raises RecursionError (and a
few thousand levels are enough to trouble whatever walks the result later); it also accepts
``NaN`` and ``Infinity``, turns ``1e999`` into ``inf``, stops at 4,300-digit integers with a
message about ``sys.set_int_max_str_digits``, and turns ``"\\ud800"`` into a string that cannot
be written back as UTF-8. :func:`parse_json` refuses all of that up front with a message the
sender can act on: :class:`LimitExceededError` for a body over the size cap,
:class:`BadInputError` for everything else. Every request body the web app reads (the admin
actions, the registry hook's envelope) goes through it.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from imagegolf.errors import BadInputError, LimitExceededError

MAX_DEPTH = 64  # arrays and objects inside each other; real documents here nest 3 or 4 deep
MAX_DIGITS = 100  # an integer's digits; ids and sizes need 20

# A JSON string, escapes included: its brackets are text, not structure. Possessive (Python 3.11),
# so nothing backtracks; and an unterminated string (or one ending in a lone backslash) runs to the
# end of the data instead of failing. Failing would be quadratic: ``re.sub`` would retry from the
# next quote, and ``"\`` × 32,000 (64 KB) took 22 s to scan; with ``\Z`` every byte is read once.
# Such a text is not JSON anyway, and json.loads then says where it breaks.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class _Refused(ValueError):
    """A value the hooks below refuse; its message is shown to the sender."""


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """True if arrays and objects in ``data`` (UTF-8 JSON text) nest more than ``limit`` deep.

    Linear and in C: strings are cut out, every byte but a bracket is dropped, and the running
    depth is summed until it first passes ``limit``. UTF-8 never puts an ASCII byte inside a
    multi-byte character, so scanning bytes is exact.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_A_BRACKET)
    return any(map(limit.__lt__, accumulate(map(_STEP.__getitem__, brackets))))


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


# What json.loads leaves of a ``\\uXXXX`` escape that is half of a UTF-16 pair with no other half:
# a valid pair becomes one code point, a lone half stays a surrogate. RFC 8259 §8.2 calls such
# strings "unpredictable"; a Python str holding one cannot be encoded as UTF-8, so it would fail
# later, far from here (an HTML page or a JSON answer that shows it: a 500).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> str | None:
    """The first text (key or value) in a parsed document that holds a lone surrogate."""
    pending = [value]
    while pending:  # a loop, not recursion: the depth cap already holds, but nothing here relies on it
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return None


def parse_json(
    data: bytes,
    *,
    what: str = "the body",
    max_bytes: int | None = None,
    max_depth: int = MAX_DEPTH,
    hint: str | None = None,
) -> Any:
    """The JSON value in ``data`` (UTF-8), or a clear error; never RecursionError.

    ``what`` names the document in messages (``the body``, ``the notification``); ``hint`` says
    what to send instead.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise LimitExceededError(f"{what} is {len(data)} bytes, more than the {max_bytes} allowed", hint=hint)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInputError(f"{what} is not JSON: not UTF-8 at byte {error.start}", hint=hint) from None
    if nesting_exceeds(data, max_depth):
        raise BadInputError(f"{what} nests arrays and objects more than {max_depth} levels deep", hint=hint)
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except _Refused as refused:
        raise BadInputError(f"{what} is not acceptable JSON: {refused}", hint=hint) from None
    except json.JSONDecodeError as error:
        raise BadInputError(f"{what} is not JSON: {error}", hint=hint) from None
    except (ValueError, RecursionError) as error:  # belt and braces: the checks above catch these
        raise BadInputError(f"{what} is not JSON: {str(error).splitlines()[0][:200]}", hint=hint) from None
    # Only an escape can make a surrogate: the text was decoded from UTF-8, which has none.
    if "\\u" in text and (bad := _lone_surrogate(value)) is not None:
        raise BadInputError(
            f"{what} is not acceptable JSON: the text {ascii(bad)[:60]} holds half of a UTF-16 "
            "surrogate pair",
            hint=hint,
        )
    return value


__all__ = ["MAX_DEPTH", "MAX_DIGITS", "nesting_exceeds", "parse_json"]
