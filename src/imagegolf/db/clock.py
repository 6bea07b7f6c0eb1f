"""Timestamps as sortable ISO-8601 UTC text, the one format both databases store."""

from __future__ import annotations

import datetime as dt

Moment = dt.datetime | str  # a time, parsed or as stored


def now() -> str:
    return format_time(dt.datetime.now(dt.UTC))


def format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """A stored time (``2026-05-01T09:00:00.000000Z``, as :func:`format_time` writes it)."""
    if len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z":
        # Python 3.11's fromisoformat reads this exact shape (the Z included) ten times faster
        # than strptime, which was most of the time of reading a page of rows; the shape check
        # keeps it to the one format (fromisoformat alone would also take offsets and dates).
        return dt.datetime.fromisoformat(text)
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def later(seconds: float, start: str | None = None) -> str:
    base = parse_time(start) if start else dt.datetime.now(dt.UTC)
    return format_time(base + dt.timedelta(seconds=seconds))


def stored_time(moment: Moment) -> str:
    """The stored spelling of a time (the text is checked by parsing it)."""
    return format_time(moment) if isinstance(moment, dt.datetime) else format_time(parse_time(moment))
