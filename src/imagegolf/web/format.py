"""Small text helpers for pages and the timeline: sizes, digests, times, event summaries. Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from imagegolf.contest.standings import DUPLICATE_LABEL
from imagegolf.db.records import EventRow
from imagegolf.digest import Digest
from imagegolf.units import human_size

__all__ = [
    "event_summary", "exact_size", "human_size", "kind_words", "parse_moment", "public_actor",
    "public_reason", "setting_value", "short_digest", "show_time", "unranked_reason", "via_words",
]  # fmt: skip


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


# What each kind of event is called on the public pages.
KIND_WORDS = {
    "contest_created": "contest created",
    "submitted": "pushed",
    "outside_window": "outside the window",
    "rate_limited": "rate-limited",
    "pull_failed": "pull failed",
    "judged": "judged",
    "rejudged": "re-judged",
    "disqualified": "disqualified",
    "reinstated": "reinstated",
    "not_an_entrant": "not an entrant",
    "settings_changed": "settings changed",
    "unfrozen": "board unfrozen",
    "entrant_added": "entrant added",
    "entrant_removed": "entrant removed",
    "board_added": "board added",
    "board_removed": "board removed",
    "admin": "organiser",
}
# The settings `contest set` changes, as a sentence names them.
SETTING_WORDS = {
    "metric": "ranked by",
    "platform": "platforms judged",
    "starts_at": "start",
    "ends_at": "end",
    "freeze_at": "freeze",
    "unfrozen_at": "unfrozen",
    "identity": "who an entry belongs to",
    "per_entrant_per_hour": "submissions judged per entrant per hour",
    "runs": "runs per image",
    "timeout_s": "seconds per run",
    "cross_check": "size cross-check",
}
_BY_JUDGE = ("judged", "rejudged", "pull_failed")
_BY_ORGANISER = (
    "contest_created", "disqualified", "reinstated", "settings_changed", "unfrozen",
    "entrant_added", "entrant_removed", "board_added", "board_removed", "admin",
)  # fmt: skip
HIDDEN = "result hidden until the end (the board is frozen)"


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(str(kind), str(kind).replace("_", " "))


def public_actor(event: EventRow) -> str:
    """Who did it, as the public pages say it: the judge, the organiser, the registry or the
    poller (never a worker's host and process, nor an organiser's address)."""
    kind, actor = str(event.kind), event.actor
    if kind in _BY_JUDGE:
        return "the judge"
    if kind in _BY_ORGANISER:
        return "the organiser"
    via = event.data.get("via") if kind == "submitted" else None
    if via == "hook" or (via is None and actor.startswith("hook@")):
        return "registry notification"
    return "registry poll"


def via_words(via: str) -> str:
    """How a push was first seen, for a sentence."""
    return {"hook": "reported by the registry", "poll": "seen by polling the registry"}.get(via, via)


def setting_value(name: str, value: Any) -> str:
    if value is None:
        return {"platform": "the judge host's own", "starts_at": "none", "ends_at": "none"}.get(name, "none")
    if name in ("starts_at", "ends_at", "freeze_at", "unfrozen_at"):
        return show_time(str(value))
    if name == "cross_check":
        return "on" if value else "off"
    return str(value)


def public_reason(state: Any) -> str:
    """A state's reason as public pages say it: a disqualification names "the organiser", not
    the address or account recorded as its actor (the events and the API keep that)."""
    reason = str(state.reason)
    if str(state.status) == "DISQUALIFIED" and reason.startswith("disqualified by "):
        return "disqualified by the organiser: " + reason.partition(": ")[2]
    return reason


def unranked_reason(state: Any) -> str:
    """Why an entrant is not on the board yet, from their latest submission's state: "queued",
    "WRONG_OUTPUT: …", "NOT_AN_ENTRANT: …" (the status as shown, then its reason)."""
    status = str(state.status)
    if status == "QUEUED":
        limited = str(state.reason).startswith("rate-limited")
        return f"queued ({state.reason})" if limited else "queued"
    if status == "JUDGING":
        return "being judged"
    if status == "FROZEN":
        return "frozen: result hidden until the end"
    label = str(getattr(state, "label", status))
    reason = _without_duplicate_word(state)
    return f"{label}: {reason}" if reason else label


def _without_duplicate_word(state: Any) -> str:
    """A duplicate's reason after its label: "REJECTED (duplicate): its manifest equals …"."""
    reason = public_reason(state)
    return reason.removeprefix("duplicate: ") if state.duplicate_of is not None else reason


def event_summary(event: EventRow, state: Any = None) -> str:
    """One line saying what an event recorded. ``state``: its submission's state now, so that the
    judgement of a duplicate is said the way the board says it ("REJECTED (duplicate)")."""
    data: dict[str, Any] = event.data
    kind = event.kind
    if data.get("hidden"):
        return HIDDEN
    if kind == "submitted":
        return f"{data.get('entrant')} pushed tag {data.get('tag')} ({via_words(str(data.get('via')))})"
    if kind in ("judged", "rejudged"):
        duplicate = state is not None and state.duplicate_of is not None and state.judged_event == event.id
        text = f"{data.get('verdict')}: {data.get('reason')}"
        if duplicate:  # the judge accepted it; the duplicate rule rejects it
            text = f"{DUPLICATE_LABEL}: {_without_duplicate_word(state)}"
        if data.get("reused_from"):
            text += f" (the judgement of #{data['reused_from']}, same digest)"
        return text
    if kind == "disqualified":
        return f"disqualified: {data.get('reason')}"
    if kind == "reinstated":
        return f"reinstated (the disqualification is undone): {data.get('reason')}"
    if kind in ("outside_window", "not_an_entrant"):
        return f"not judged: {data.get('reason')}"
    if kind == "rate_limited":
        return f"over {data.get('limit')} an hour: judged from {show_time(data.get('not_before'))}"
    if kind == "pull_failed":
        retry = show_time(data.get("retry_at"))
        return f"pull failed (attempt {data.get('attempt')}): {data.get('reason')}; retry at {retry}"
    if kind == "settings_changed":
        changes = data.get("changes") or {}
        parts = [
            f"{SETTING_WORDS.get(name, name)}: {setting_value(name, old)} → {setting_value(name, new)}"
            for name, (old, new) in changes.items()
        ]
        return "; ".join(parts) or "no change"
    if kind == "unfrozen":
        return f"the final board is shown (it was frozen from {show_time(data.get('freeze_at'))})"
    if kind == "entrant_added":
        return f"{data.get('entrant')}: {data.get('action', 'account created')}"
    if kind == "entrant_removed":
        return f"{data.get('entrant')}: account removed"
    if kind in ("board_added", "board_removed"):
        board = data.get("board") or {}
        what = "added" if kind == "board_added" else "removed"
        return f"board {board.get('name')} {what}: {board.get('rules', '')}".rstrip(": ")
    if kind == "admin":
        if data.get("action") == "rejudge queued":
            return f"re-judging queued for {len(data.get('submissions') or [])} submission(s)"
        return str(data.get("action", "an organiser's action"))
    if kind == "contest_created":
        return f"contest created: phrase {data.get('phrase')!r}, metric {data.get('metric')}"
    return kind_words(kind)
