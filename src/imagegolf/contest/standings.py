"""The leaderboard, each submission's effective status and the record timeline, derived from events.

Pure: rows in, values out. This is the reference: the derived tables the database keeps up to
date (contest/derived.py) must always equal what :func:`derive` computes from the events alone
(a property-based test holds them to it). The rules (docs/contest.md):

- a contest ranks its judgements on each of its boards (judge/boards.py); :func:`derive` gives
  one board's standings, and every rule below is that board's: a judgement's verdict, reason and
  size are :func:`~imagegolf.judge.boards.on_board`'s, and the duplicate rule runs among the
  submissions accepted on that board;
- a submission's judgement is its latest ``judged`` or ``rejudged`` event; ``disqualified`` wins
  over any judgement until a later ``reinstated`` undoes it; a disqualified submission does not
  rank, but an image the judge accepted stays the original of later copies (disqualifying it
  never promotes whoever copied it);
- an ACCEPTED image whose manifest digest or any layer digest equals an earlier accepted image of
  another entrant is REJECTED_IMAGE as a duplicate of that one ("earlier": first seen earlier,
  then the lower id); a duplicate is nobody's original;
- an entrant's best is their smallest accepted submission by the board's metric; ties go to the
  one first seen earlier, between entrants as within one entrant's submissions;
- the record timeline steps down each time an accepted submission is strictly smaller than every
  one seen before it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from imagegolf.db.records import EventKind, EventRow, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.judge.boards import Board, on_board
from imagegolf.judge.judged import JudgedData
from imagegolf.judge.verdict import Verdict

JUDGED_KINDS = (EventKind.JUDGED, EventKind.REJUDGED)
Order = tuple[dt.datetime, int]  # who came first: first seen, then the id


class Status(enum.StrEnum):
    """A submission's effective status: a judge verdict, or one of the contest's own."""

    ACCEPTED = "ACCEPTED"
    WRONG_OUTPUT = "WRONG_OUTPUT"
    NO_OUTPUT = "NO_OUTPUT"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    TIMEOUT = "TIMEOUT"
    OUTPUT_LIMIT = "OUTPUT_LIMIT"
    MEMORY_LIMIT = "MEMORY_LIMIT"
    START_FAILED = "START_FAILED"
    REJECTED_IMAGE = "REJECTED_IMAGE"  # also: a duplicate of another entrant's earlier image
    PULL_FAILED = "PULL_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    QUEUED = "QUEUED"  # waiting for a worker (or for the entrant's hourly limit)
    JUDGING = "JUDGING"  # a worker holds its job now (composed at read time from the jobs)
    RETRYING = "RETRYING"  # a pull failed; a worker will try again
    DISQUALIFIED = "DISQUALIFIED"
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
    NOT_AN_ENTRANT = "NOT_AN_ENTRANT"  # pushed by a registry account that is not an entrant
    # First seen after the scoreboard froze: public pages hide its result until the end (never
    # stored: contest/frozen.py composes it at read time, as JUDGING is).
    FROZEN = "FROZEN"

    @classmethod
    def of(cls, verdict: Verdict) -> Status:
        return cls(verdict.value)

    @property
    def pending(self) -> bool:
        return self in _PENDING


_PENDING = frozenset({Status.QUEUED, Status.JUDGING, Status.RETRYING, Status.FROZEN})
_RULINGS = (EventKind.DISQUALIFIED, EventKind.REINSTATED)
_NOT_JUDGED = {
    EventKind.OUTSIDE_WINDOW: Status.OUTSIDE_WINDOW,
    EventKind.NOT_AN_ENTRANT: Status.NOT_AN_ENTRANT,
}
DUPLICATE = Status.REJECTED_IMAGE
DUPLICATE_LABEL = "REJECTED (duplicate)"  # how a duplicate is shown, everywhere (board, events, logs)


def status_label(status: Status | str, duplicate_of: int | None = None) -> str:
    """The one word for a state wherever it is shown: a duplicate is "REJECTED (duplicate)"."""
    if str(status) == DUPLICATE.value and duplicate_of is not None:
        return DUPLICATE_LABEL
    return str(status)


@dataclass(frozen=True)
class SubmissionState:
    submission: SubmissionRow
    status: Status
    reason: str
    verdict: Verdict | None = None  # the judge's own verdict, before the board's and contest's rules
    metrics: Mapping[str, int] | None = None  # every size the judge measured
    size: int | None = None  # the board's metric
    judged_at: dt.datetime | None = None
    judged_event: int | None = None  # the event whose judgement is in effect (its full data)
    duplicate_of: int | None = None  # the submission this one copies

    @property
    def accepted(self) -> bool:
        return self.status is Status.ACCEPTED

    @property
    def ranked(self) -> bool:
        return self.accepted and self.size is not None

    @property
    def pending(self) -> bool:
        return self.status.pending

    @property
    def label(self) -> str:
        """The status as shown (a duplicate: "REJECTED (duplicate)"); see :func:`status_label`."""
        return status_label(self.status, self.duplicate_of)

    def judging(self, running: bool) -> SubmissionState:
        """This state with its job's state composed in: a worker holding it makes it JUDGING."""
        if running and self.status in (Status.QUEUED, Status.RETRYING):
            return replace(self, status=Status.JUDGING, reason="being judged now")
        return self


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
    at: dt.datetime  # when the record-setting submission was first seen
    entrant: str
    size: int
    submission_id: int
    digest: Digest
    tag: str
    previous: int | None  # the record it broke


@dataclass(frozen=True)
class Standings:
    metric: str
    states: tuple[SubmissionState, ...]  # every submission, first seen first
    board: tuple[BoardRow, ...]
    unranked: tuple[str, ...]  # entrants with submissions but nothing accepted, by first submission
    records: tuple[RecordPoint, ...]

    def state(self, submission_id: int) -> SubmissionState | None:
        return next((s for s in self.states if s.submission.id == submission_id), None)

    def of(self, entrant: str) -> tuple[SubmissionState, ...]:
        return tuple(s for s in self.states if s.submission.entrant == entrant)

    @property
    def pending(self) -> int:
        return sum(1 for s in self.states if s.pending)


@dataclass(frozen=True)
class Candidate:
    """An accepted submission as the duplicate rule sees it."""

    submission: SubmissionRow
    prints: tuple[Digest, ...]  # the manifest digest first, then the layer digests


@dataclass(frozen=True)
class Copy:
    original: SubmissionRow
    shared: Digest
    manifest: bool  # the manifests are equal (else a layer is)


MAIN = "main"  # the board of a contest from before boards (and of a bare metric, below)


def rules_of(board: Board | str) -> Board:
    """A board; a bare metric is the one board every contest had before boards: that metric, the
    message from anywhere, exit 0, every platform (the judge's verdict unchanged)."""
    return board if isinstance(board, Board) else Board(MAIN, board)


def derive(
    submissions: Iterable[SubmissionRow],
    events: Iterable[EventRow],
    board: Board | str,
    running: frozenset[int] = frozenset(),
) -> Standings:
    """One board's standings from the events alone (``board``: a Board, or a bare metric: see
    :func:`rules_of`); ``running``: the submissions a worker is judging now."""
    rules = rules_of(board)
    ordered = sorted(submissions, key=lambda s: s.order)
    by_submission: dict[int, list[EventRow]] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.submission_id is not None:
            by_submission.setdefault(event.submission_id, []).append(event)
    bases = [base_state(s, by_submission.get(s.id, []), rules) for s in ordered]
    copies = find_copies(
        candidate for state, judged in bases if (candidate := as_candidate(state, judged, rules))
    )
    return settle([state for state, _judged in bases], copies, rules.metric, running)


def settle(
    bases: list[SubmissionState], copies: dict[int, Copy], metric: str, running: frozenset[int] = frozenset()
) -> Standings:
    """The standings from each submission's own state (first seen first) and the copies found."""
    states = [apply_copy(s, copies.get(s.submission.id)).judging(s.submission.id in running) for s in bases]
    board, unranked = _board(states)
    return Standings(metric, tuple(states), board, unranked, _records(states))


def base_state(
    submission: SubmissionRow, events: list[EventRow], board: Board | str
) -> tuple[SubmissionState, JudgedData | None]:
    """A submission's status on a board from its own events (oldest first), before the duplicate
    rule and without its job's state; and the judgement in effect."""
    rules = rules_of(board)
    judged = next((e for e in reversed(events) if e.kind in JUDGED_KINDS), None)
    judgement = JudgedData.from_json(judged.data) if judged is not None else None
    state = SubmissionState(submission, Status.QUEUED, "")
    if judged is not None and judgement is not None:
        seen = on_board(rules, judgement)  # the board's verdict and reason
        state = replace(
            state,
            status=Status.of(seen.verdict),
            reason=seen.reason,
            verdict=judgement.verdict,
            metrics=judgement.metrics,
            # Shown whatever the verdict, as the judge measured it; ranked only when accepted.
            size=judgement.metric(rules.metric),
            judged_at=judged.at,
            judged_event=judged.id,
        )
    # The latest of a disqualification and a reinstatement decides (reinstating undoes it).
    ruling = next((e for e in reversed(events) if e.kind in _RULINGS), None)
    disqualified = ruling if ruling is not None and ruling.kind is EventKind.DISQUALIFIED else None
    if disqualified is not None:
        reason = f"disqualified by {disqualified.actor}: {disqualified.data.get('reason', '')}"
        return replace(state, status=Status.DISQUALIFIED, reason=reason), judgement
    outside = next((e for e in events if e.kind in _NOT_JUDGED), None)
    if outside is not None:
        status = _NOT_JUDGED[outside.kind]
        return SubmissionState(submission, status, str(outside.data.get("reason", ""))), None
    if judgement is not None:
        return state, judgement
    failed = next((e for e in reversed(events) if e.kind is EventKind.PULL_FAILED), None)
    if failed is not None:
        why, when = failed.data.get("reason", "the pull failed"), failed.data.get("retry_at", "?")
        return SubmissionState(submission, Status.RETRYING, f"{why}; retrying after {when}"), None
    limited = next((e for e in reversed(events) if e.kind is EventKind.RATE_LIMITED), None)
    reason = "waiting to be judged"
    if limited is not None:
        reason = f"rate-limited: judged from {limited.data.get('not_before', '?')}"
    return SubmissionState(submission, Status.QUEUED, reason), None


def as_candidate(
    state: SubmissionState, judgement: JudgedData | None, board: Board | str
) -> Candidate | None:
    """The submission as an original or a copy, when it is accepted on the board (disqualified
    or not: a disqualified original still makes its copies duplicates)."""
    if judgement is None or state.judged_event is None:
        return None
    if on_board(rules_of(board), judgement).verdict is not Verdict.ACCEPTED:
        return None
    return Candidate(state.submission, unique(judgement.fingerprints(state.submission.digest)))


def unique(prints: Iterable[Digest]) -> tuple[Digest, ...]:
    return tuple(dict.fromkeys(prints))


def find_copies(candidates: Iterable[Candidate]) -> dict[int, Copy]:
    """Which accepted submissions copy another entrant's earlier one (submission id → the copy).

    In first-seen order, each candidate is a copy when one of its fingerprints belongs to an
    earlier original of another entrant; otherwise it is an original and its fingerprints that
    are not taken become its own. Run on any set of candidates closed under sharing a
    fingerprint, it gives the same answer as on all of them.
    """
    owners: dict[Digest, SubmissionRow] = {}
    copies: dict[int, Copy] = {}
    for candidate in sorted(candidates, key=lambda c: c.submission.order):
        mine = candidate.submission
        copy = next(
            (
                Copy(owners[p], p, manifest=n == 0)
                for n, p in enumerate(candidate.prints)
                if p in owners and owners[p].entrant != mine.entrant
            ),
            None,
        )
        if copy is not None:
            copies[mine.id] = copy
            continue
        for p in candidate.prints:
            owners.setdefault(p, mine)
    return copies


def apply_copy(state: SubmissionState, copy: Copy | None) -> SubmissionState:
    if copy is None or state.status is Status.DISQUALIFIED:  # disqualification wins over any rule
        return state
    original = copy.original
    what = "manifest" if copy.manifest else f"layer {str(copy.shared)[:19]}…"
    reason = (
        f"duplicate: its {what} equals {original.entrant}'s earlier accepted submission "
        f"(tag {original.tag}, {str(original.digest)[:19]}…, "
        f"first seen {original.first_seen:%Y-%m-%d %H:%M:%S} UTC)"
    )
    return replace(state, status=DUPLICATE, reason=reason, duplicate_of=original.id)


def _board(states: list[SubmissionState]) -> tuple[tuple[BoardRow, ...], tuple[str, ...]]:
    best: dict[str, SubmissionState] = {}
    counts: dict[str, list[int]] = {}
    for state in states:  # first seen first: a later tie never replaces the earlier best
        entrant = state.submission.entrant
        count = counts.setdefault(entrant, [0, 0])
        count[0] += 1
        if state.ranked:
            count[1] += 1
            if entrant not in best or (state.size or 0) < (best[entrant].size or 0):
                best[entrant] = state
    ranked = sorted(best.values(), key=board_key)
    rows = tuple(
        BoardRow(place, s.submission.entrant, s.size or 0, s, *counts[s.submission.entrant])
        for place, s in enumerate(ranked, start=1)
    )
    unranked = tuple(entrant for entrant in counts if entrant not in best)
    return rows, unranked


def board_key(state: SubmissionState) -> tuple[int, dt.datetime, int]:
    """How bests are ordered on the board: smaller first, then whoever reached it first."""
    return (state.size or 0, *state.submission.order)


def _records(states: list[SubmissionState]) -> tuple[RecordPoint, ...]:
    records: list[RecordPoint] = []
    for state in states:
        if not state.ranked or state.size is None:
            continue
        if records and state.size >= records[-1].size:
            continue
        records.append(record_point(state, records[-1].size if records else None))
    return tuple(records)


def record_point(state: SubmissionState, previous: int | None) -> RecordPoint:
    s = state.submission
    return RecordPoint(s.first_seen, s.entrant, state.size or 0, s.id, s.digest, s.tag, previous)
