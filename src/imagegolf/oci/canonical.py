"""Canonical compact JSON out, capped JSON in.

Canonical: sorted keys, no whitespace, UTF-8 (not \\u escapes), so equal values give equal bytes.
"""

from __future__ import annotations

import json
from typing import Any

from imagegolf.errors import BadInputError
from imagegolf.oci.limits import check_cap


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, ``,``/``:`` separators, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json_object(raw: bytes, *, cap: int, what: str) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object after checking its size against ``cap`` (docs/judge.md #8)."""
    check_cap(len(raw), cap, f"the size of {what} in bytes")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadInputError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadInputError(f"{what} is JSON but not an object")
    return value
