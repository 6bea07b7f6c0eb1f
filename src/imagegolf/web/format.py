"""Small text helpers for pages and the timeline: sizes, digests, times, event summaries. Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from imagegolf.db.records import EventRow
from imagegolf.digest import Digest
from imagegolf.units import human_size

__all__ = ["event_summary", "exact_size", "human_size", "parse_moment", "short_digest", "show_time"]


def exact_size(n: int) -> str:
    """``73 B``, ``1,444 B``: a golf contest is won by single bytes."""
    return f"{n:,} B"


def short_digest(digest: Digest | str | None, hex_chars: int = 12) -> str:
    if not digest:
        return ""
    text = str(digest)
    algorithm, _, hex_part = text.partition(":")
    return f"{algorithm}:{hex_part[:hex_chars]}" if hex_part else text[:hex_chars]


def parse_moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def show_time(moment: dt.datetime | str | None) -> str:
    """``2026-05-01 09:30:12 UTC`` from a time or its stored ISO text (unparseable text is shown as is)."""
    if not moment:
        return ""
    try:
        parsed = moment if isinstance(moment, dt.datetime) else parse_moment(moment)
    except ValueError:
        return str(moment)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def event_summary(event: EventRow) -> str:
    """One line saying what an event recorded."""
    data: dict[str, Any] = event.data
    kind = event.kind
    if kind == "submitted":
        return f"{data.get('entrant')} pushed tag {data.get('tag')} (seen by {data.get('via')})"
    if kind in ("judged", "rejudged"):
        text = f"{data.get('verdict')}: {data.get('reason')}"
        if data.get("reused_from"):
            text += f" (the judgement of #{data['reused_from']}, same digest)"
        return text
    if kind == "disqualified":
        return f"disqualified: {data.get('reason')}"
    if kind == "outside_window":
        return f"not judged: {data.get('reason')}"
    if kind == "rate_limited":
        return f"over {data.get('limit')} an hour: judged from {show_time(data.get('not_before'))}"
    if kind == "pull_failed":
        retry = show_time(data.get("retry_at"))
        return f"pull failed (attempt {data.get('attempt')}): {data.get('reason')}; retry at {retry}"
    if kind == "admin":
        rest = {k: v for k, v in data.items() if k != "action"}
        return f"{data.get('action')}" + (f": {rest}" if rest else "")
    if kind == "contest_created":
        return f"contest created: phrase {data.get('phrase')!r}, metric {data.get('metric')}"
    return f"{kind}: {data}"
