"""What a notification says, and the three bodies it is sent as: imagegolf's own JSON, Slack's
incoming-webhook message and Discord's execute-webhook message.

Pure: a notification is the generic payload (contest/outbox.py writes it into the outbox with
the event that causes it); the Slack and Discord bodies are rendered from it when it is sent,
so a retry sends the same bytes. Entrants choose their names, tags and what their images print
(which a verdict's reason may quote): every value is escaped for the format it lands in, and
Discord is told to parse no mention at all (``allowed_mentions: {"parse": []}``), so no entrant
can ping a channel.

- Slack (an incoming webhook, ``https://hooks.slack.com/services/…``): ``{"text": …, "blocks":
  [a section, a context]}``; ``&``, ``<`` and ``>`` are Slack's control characters and are
  written as ``&amp;``, ``&lt;`` and ``&gt;`` (Slack's "Formatting text": escaping); a link is
  ``<URL|label>``. Slack answers 200 ``ok``.
- Discord (``https://discord.com/api/webhooks/ID/TOKEN``): ``{"content": …, "allowed_mentions":
  {"parse": []}}``, content at most 2,000 characters; markdown characters in values are
  backslash-escaped; a link is ``<URL>`` (no embed). Discord answers 204.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FORMATS = ("generic", "slack", "discord")
KINDS = ("record", "first", "verdict")
PAYLOAD_VERSION = 1
DISCORD_MAX = 2000  # characters of content (Discord's limit)
SLACK_MAX = 3000  # characters of a section block's text (Slack's limit)
REASON_MAX = 300  # characters of a verdict's reason carried in a notification


@dataclass(frozen=True)
class Style:
    """How values and links are written in one format's text."""

    escape: Callable[[str], str]
    link: Callable[[str, str], str]  # (url, label) → the text of a link


def _plain_link(url: str, label: str) -> str:
    return f"{label}: {url}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f"<{url}|{_slack_escape(label)}>"


_DISCORD_SPECIAL = set("\\*_~`|>[]()#-<:@")


def _discord_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in _DISCORD_SPECIAL else c for c in text)


def _discord_link(url: str, label: str) -> str:
    return f"{_discord_escape(label)}: <{url}>"


PLAIN = Style(lambda text: text, _plain_link)
SLACK = Style(_slack_escape, _slack_link)
DISCORD = Style(_discord_escape, _discord_link)


def size_text(size: int | None) -> str:
    return "no size" if size is None else f"{size:,} B"


def compose(payload: dict[str, Any], style: Style = PLAIN) -> str:
    """The notification as one message, with the values written for ``style``."""
    e = style.escape
    kind, contest = payload["kind"], e(str(payload["contest"]))
    who = e(str(payload["entrant"]))
    tag = e(str(payload["tag"]))
    sub = f"#{payload['submission']}"
    metric = e(str(payload["metric"]))
    board = payload.get("board")
    on_board = f" on the {e(str(board))} board" if board else ""
    if kind == "record":
        previous = payload.get("previous_record")
        was = (
            f"; the record was {size_text(previous['size'])} ({e(str(previous['entrant']))})"
            if previous
            else "; the first record"
        )
        text = (
            f"{contest}: new record{on_board}: {who}, {size_text(payload['size'])} by {metric} "
            f"(tag {tag}, {sub}){was}."
        )
    elif kind == "first":
        text = (
            f"{contest}: {who}'s first accepted image: {size_text(payload['size'])} by {metric}"
            f"{on_board} (tag {tag}, {sub})."
        )
    else:
        judged = "re-judged" if payload.get("rejudged") else "judged"
        status = e(str(payload["status"]))
        text = f"{contest}: {who}'s tag {tag} ({sub}) was {judged} {status}"
        if payload.get("size") is not None and payload["status"] == "ACCEPTED":
            text += f": {size_text(payload['size'])} by {metric}."
        elif payload.get("reason"):
            text += f": {e(str(payload['reason']))}"
        else:
            text += "."
    if payload.get("page"):
        text += "\n" + style.link(str(payload["page"]), f"submission {sub}")
    return text


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(fmt: str, payload: dict[str, Any]) -> bytes:
    """The body sent to a webhook of format ``fmt`` (UTF-8 JSON)."""
    if fmt == "generic":
        body: dict[str, Any] = payload
    elif fmt == "slack":
        text = clip(compose(payload, SLACK), SLACK_MAX)
        footer = f"imagegolf · {payload['kind']} · {_slack_escape(str(payload['digest'])[:19])}…"
        body = {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
            ],
        }
    elif fmt == "discord":
        body = {"content": clip(compose(payload, DISCORD), DISCORD_MAX), "allowed_mentions": {"parse": []}}
    else:
        raise ValueError(f"unknown notification format {fmt!r}")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


__all__ = ["FORMATS", "KINDS", "PAYLOAD_VERSION", "compose", "render", "size_text"]
