"""db/clock.py: the fast reading of stored times agrees with strptime, the format's definition."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from imagegolf.db.clock import format_time, parse_time

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def by_strptime(text: str) -> dt.datetime | None:
    """The format's definition, ASCII only (strptime's \\d also takes "٣"; no stored time has it)."""
    if not text.isascii():
        return None
    try:
        return dt.datetime.strptime(text, FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def by_parse_time(text: str) -> dt.datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        return None


YEARS = {"min_value": dt.datetime(1000, 1, 1), "max_value": dt.datetime(9999, 12, 31)}  # four digits


@given(st.datetimes(timezones=st.just(dt.UTC), **YEARS))
def test_a_stored_time_reads_back_as_written(moment: dt.datetime) -> None:
    assert parse_time(format_time(moment)) == moment


# Stored spellings with one character changed: digits, separators, signs, letters, spaces.
@given(
    st.datetimes(timezones=st.just(dt.UTC), **YEARS),
    st.integers(0, 26),
    st.sampled_from("0123456789-:.TZ+ zt_٣"),
)
def test_any_near_miss_reads_as_strptime_reads_it(moment: dt.datetime, at: int, char: str) -> None:
    text = format_time(moment)
    changed = text[:at] + char + text[at + 1 :]
    assert by_parse_time(changed) == by_strptime(changed), changed
