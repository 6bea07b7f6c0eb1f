"""The leaderboard, each submission's effective status and the record timeline, derived from events.

Pure: rows in, values out. The rules (docs/contest.md):
- a submission's judgement is its latest ``judged`` or ``rejudged`` event; ``disqualified`` wins
  over any judgement;
- an ACCEPTED image whose manifest digest or any layer digest equals an earlier accepted image of
  another entrant is REJECTED as a duplicate of that one ("earlier": first seen earlier);
- an entrant's best is their smallest accepted submission by the contest's metric; ties go to the
  one first seen earlier, between entrants as within one entrant's submissions;
- the record timeline steps down each time an accepted submission is strictly smaller than every
  one seen before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imagegolf.db.records import EventRow, SubmissionRow

JUDGED_KINDS = ("judged", "rejudged")
ACCEPTED = "ACCEPTED"
DUPLICATE = "REJECTED_IMAGE"
# Statuses of a submission that has no effective verdict yet, or none that ranks.
QUEUED, JUDGING, RETRYING = "QUEUED", "JUDGING", "RETRYING"
DISQUALIFIED, OUTSIDE_WINDOW = "DISQUALIFIED", "OUTSIDE_WINDOW"


@dataclass(frozen=True)
class SubmissionState:
    submission: SubmissionRow
    status: str  # a judge verdict, or QUEUED / JUDGING / RETRYING / DISQUALIFIED / OUTSIDE_WINDOW
    reason: str
    judgement: dict[str, Any] | None  # the effective judged event's data (verdict, metrics, runs…)
    judged_at: str | None
    size: int | None  # the contest metric, when the judge measured it
    duplicate_of: int | None = None  # the submission this one copies

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def pending(self) -> bool:
        return self.status in (QUEUED, JUDGING, RETRYING)

    @property
    def verdict(self) -> str | None:
        """The judge's own verdict, before the contest's rules (duplicates, disqualification)."""
        return None if self.judgement is None else str(self.judgement["verdict"])


@dataclass(frozen=True)
class BoardRow:
    place: int
    entrant: str
    size: int
    best: SubmissionState
    submissions: int  # how many the entrant has made
    accepted: int  # how many of them are accepted


@dataclass(frozen=True)
class RecordPoint:
    at: str  # when the record-setting submission was first seen
    entrant: str
    size: int
    submission_id: int
    digest: str
    tag: str
    previous: int | None  # the record it broke


@dataclass(frozen=True)
class Standings:
    metric: str
    states: tuple[SubmissionState, ...]  # every submission, first seen first
    board: tuple[BoardRow, ...]
    unranked: tuple[str, ...]  # entrants with submissions but nothing accepted
    records: tuple[RecordPoint, ...]

    def state(self, submission_id: int) -> SubmissionState | None:
        return next((s for s in self.states if s.submission.id == submission_id), None)

    def of(self, entrant: str) -> tuple[SubmissionState, ...]:
        return tuple(s for s in self.states if s.submission.entrant == entrant)

    @property
    def pending(self) -> int:
        return sum(1 for s in self.states if s.pending)


def derive(
    submissions: Iterable[SubmissionRow],
    events: Iterable[EventRow],
    metric: str,
    job_states: Mapping[int, str] | None = None,
) -> Standings:
    ordered = sorted(submissions, key=lambda s: (s.first_seen, s.id))
    by_submission: dict[int, list[EventRow]] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.submission_id is not None:
            by_submission.setdefault(event.submission_id, []).append(event)
    jobs = job_states or {}
    owners: dict[str, SubmissionRow] = {}  # manifest or layer digest → first accepted submission
    states: list[SubmissionState] = []
    for submission in ordered:
        state = _state(submission, by_submission.get(submission.id, []), metric, jobs.get(submission.id))
        if state.verdict == ACCEPTED:
            state = _check_copy(state, owners)
        states.append(state)
    board, unranked = _board(states)
    return Standings(metric, tuple(states), board, unranked, _records(states))


def _state(
    submission: SubmissionRow, events: list[EventRow], metric: str, job: str | None
) -> SubmissionState:
    judged = next((e for e in reversed(events) if e.kind in JUDGED_KINDS), None)
    judgement = judged.data if judged else None
    size = None
    if judgement and judgement.get("metrics"):
        size = int(judgement["metrics"][metric])
    disqualified = next((e for e in reversed(events) if e.kind == "disqualified"), None)
    judged_at = judged.at if judged else None
    if disqualified is not None:
        reason = f"disqualified by {disqualified.actor}: {disqualified.data.get('reason', '')}"
        return SubmissionState(submission, DISQUALIFIED, reason, judgement, judged_at, size)
    outside = next((e for e in events if e.kind == "outside_window"), None)
    if outside is not None:
        return SubmissionState(
            submission, OUTSIDE_WINDOW, str(outside.data.get("reason", "")), None, None, None
        )
    if judgement is not None:
        return SubmissionState(
            submission, str(judgement["verdict"]), str(judgement["reason"]), judgement, judged_at, size
        )
    failed = next((e for e in reversed(events) if e.kind == "pull_failed"), None)
    if failed is not None and job != "running":
        why, when = failed.data.get("reason", "the pull failed"), failed.data.get("retry_at", "?")
        reason = f"{why}; retrying after {when}"
        return SubmissionState(submission, RETRYING, reason, None, None, None)
    if job == "running":
        return SubmissionState(submission, JUDGING, "a worker is judging it", None, None, None)
    limited = next((e for e in reversed(events) if e.kind == "rate_limited"), None)
    reason = "waiting for a worker"
    if limited is not None:
        reason = f"rate-limited: judged from {limited.data.get('not_before', '?')}"
    return SubmissionState(submission, QUEUED, reason, None, None, None)


def _fingerprints(state: SubmissionState) -> list[str]:
    assert state.judgement is not None
    prints = [str(state.judgement.get("manifest_digest") or state.submission.digest)]
    prints += [str(layer["digest"]) for layer in state.judgement.get("layers", [])]
    return prints


def _check_copy(state: SubmissionState, owners: dict[str, SubmissionRow]) -> SubmissionState:
    mine = state.submission
    for digest in _fingerprints(state):
        original = owners.get(digest)
        if original is not None and original.entrant != mine.entrant:
            what = "manifest" if digest == mine.digest else f"layer {digest[:19]}…"
            reason = (
                f"duplicate: its {what} equals {original.entrant}'s earlier accepted submission "
                f"(tag {original.tag}, {original.digest[:19]}…, first seen {original.first_seen})"
            )
            return SubmissionState(
                mine,
                DUPLICATE,
                reason,
                state.judgement,
                state.judged_at,
                state.size,
                duplicate_of=original.id,
            )
    for digest in _fingerprints(state):
        owners.setdefault(digest, mine)
    return state


def _board(states: list[SubmissionState]) -> tuple[tuple[BoardRow, ...], tuple[str, ...]]:
    best: dict[str, SubmissionState] = {}
    counts: dict[str, list[int]] = {}
    for state in states:  # first seen first: a later tie never replaces the earlier best
        entrant = state.submission.entrant
        count = counts.setdefault(entrant, [0, 0])
        count[0] += 1
        if state.accepted and state.size is not None:
            count[1] += 1
            if entrant not in best or state.size < (best[entrant].size or 0):
                best[entrant] = state
    ranked = sorted(best.values(), key=lambda s: (s.size, s.submission.first_seen, s.submission.id))
    rows = tuple(
        BoardRow(place, s.submission.entrant, s.size or 0, s, *counts[s.submission.entrant])
        for place, s in enumerate(ranked, start=1)
    )
    unranked = tuple(entrant for entrant in counts if entrant not in best)
    return rows, unranked


def _records(states: list[SubmissionState]) -> tuple[RecordPoint, ...]:
    records: list[RecordPoint] = []
    for state in states:
        if not state.accepted or state.size is None:
            continue
        if records and state.size >= records[-1].size:
            continue
        s = state.submission
        records.append(
            RecordPoint(
                s.first_seen,
                s.entrant,
                state.size,
                s.id,
                s.digest,
                s.tag,
                records[-1].size if records else None,
            )
        )
    return tuple(records)
