"""A contest's boards: each ranks the same judgements by its own rules (issue: "does an image whose
message sits in its CMD compete with one that carries it in its files?").

A board is a metric plus filters: the platforms it takes, where the message may come from
(``files``: the phrase's bytes may not appear in the image config or manifest; ``anywhere``), and
whether the exit status matters (``zero``; ``any``). One judgement serves every board: the judge
records the facts (judge/verdict.py: ``any_exit``, the verdict had the exit status been free;
``phrase_in``, the metadata document that holds the phrase) and :func:`on_board` reads them.

Pure: values in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagegolf.errors import UsageError
from imagegolf.judge.judged import JudgedData
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.judge.verdict import Verdict
from imagegolf.oci.metrics import SizeMetrics
from imagegolf.platform import Platform

METRICS: tuple[str, ...] = tuple(SizeMetrics.__dataclass_fields__)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@dataclass(frozen=True)
class Board:
    name: str  # in URLs: /boards/NAME
    metric: str
    message: MessageRule = MessageRule.ANYWHERE
    exit: ExitRule = ExitRule.ZERO
    platforms: tuple[Platform, ...] = ()  # empty: every platform the contest judges
    title: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise UsageError(
                f"board name {self.name!r}: lower-case letters, digits and '-', at most 32 characters"
            )
        if self.metric not in METRICS:
            raise UsageError(f"metric {self.metric!r}: give one of {', '.join(METRICS)}")

    @property
    def label(self) -> str:
        return self.title or self.name

    def describe(self) -> str:
        """The board's rules in one line, for pages and the CLI."""
        where = "in its files only" if self.message is MessageRule.FILES else "from anywhere (files or CMD)"
        status = "exit 0" if self.exit is ExitRule.ZERO else "any exit status"
        platforms = ", ".join(map(str, self.platforms)) if self.platforms else "every judged platform"
        return f"ranked by {self.metric}; the message {where}; {status}; {platforms}"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.label,
            "metric": self.metric,
            "message": self.message.value,
            "exit": self.exit.value,
            "platforms": [str(p) for p in self.platforms],
            "rules": self.describe(),
        }


def default_boards(metric: str) -> tuple[Board, ...]:
    """What ``contest init`` creates: the post's rules, anything goes, and what a pull costs."""
    return (
        Board("classic", metric, MessageRule.FILES, ExitRule.ZERO, title="Classic"),
        Board("open", metric, MessageRule.ANYWHERE, ExitRule.ANY, title="Open"),
        Board("pull", "pull_bytes", MessageRule.ANYWHERE, ExitRule.ZERO, title="Pull bytes"),
    )


@dataclass(frozen=True)
class OnBoard:
    """A judgement as one board sees it."""

    verdict: Verdict
    reason: str
    size: int | None  # the board's metric, for an accepted image


def on_board(board: Board, judged: JudgedData) -> OnBoard:
    """The verdict and size of ``judged`` under the board's rules.

    Judgements recorded before the judge kept its facts (``any_exit``/``phrase_in`` None) count as
    exit-checked and as carrying nothing in their metadata: what the judge knew then.
    """
    verdict, reason = judged.verdict, judged.reason
    if board.platforms and judged.platform and Platform.parse(judged.platform) not in board.platforms:
        on = ", ".join(map(str, board.platforms))
        return OnBoard(Verdict.REJECTED_IMAGE, f"judged as {judged.platform}; this board takes {on}", None)
    if (
        board.exit is ExitRule.ANY
        and verdict is Verdict.RUNTIME_ERROR
        and judged.any_exit is Verdict.ACCEPTED
    ):
        verdict = Verdict.ACCEPTED
        reason = f"stdout is right; the exit status ({_exit_codes(judged)}) does not count on this board"
    if verdict is Verdict.ACCEPTED and board.message is MessageRule.FILES and judged.phrase_in:
        return OnBoard(
            Verdict.REJECTED_IMAGE,
            f"the image's {judged.phrase_in} holds the phrase: this board takes only images whose "
            "files make it",
            None,
        )
    size = judged.metric(board.metric) if verdict is Verdict.ACCEPTED else None
    return OnBoard(verdict, reason, size)


def _exit_codes(judged: JudgedData) -> str:
    codes = sorted({run.exit_code for run in judged.runs if run.exit_code is not None})
    return ", ".join(map(str, codes)) or "?"


__all__ = ["Board", "OnBoard", "default_boards", "on_board"]
