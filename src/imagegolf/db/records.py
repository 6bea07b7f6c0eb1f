"""Rows as values, parsed at the database edge: times as aware datetimes, digests as ``Digest``,
event kinds as :class:`EventKind`. The SQL stores times as sortable ISO-8601 text (db/clock.py)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from typing import Any

from imagegolf.db.clock import format_time, parse_time
from imagegolf.digest import Digest


class EventKind(enum.StrEnum):
    """What an event of the append-only log records (docs/contest.md)."""

    CONTEST_CREATED = "contest_created"
    SUBMITTED = "submitted"  # a (tag, digest) was seen: a submission
    OUTSIDE_WINDOW = "outside_window"  # seen before the start or after the end: never judged
    RATE_LIMITED = "rate_limited"  # judged later: the entrant's hourly limit
    PULL_FAILED = "pull_failed"  # a worker will try again
    JUDGED = "judged"
    REJUDGED = "rejudged"  # judged again (the rules or the judge changed)
    DISQUALIFIED = "disqualified"
    REINSTATED = "reinstated"  # a disqualification undone
    NOT_AN_ENTRANT = "not_an_entrant"  # pushed by a registry account that is not an entrant: not judged
    SETTINGS_CHANGED = "settings_changed"  # `contest set`: {"changes": {field: [old, new]}}
    UNFROZEN = "unfrozen"  # the organiser showed the final board before the end
    ENTRANT_ADDED = "entrant_added"  # a registry account was made for an entrant
    ENTRANT_REMOVED = "entrant_removed"
    BOARD_ADDED = "board_added"  # `contest board add`: {"board": the board's rules}
    BOARD_REMOVED = "board_removed"
    ADMIN = "admin"  # an organiser's action, for the record


def optional_time(text: str | None) -> dt.datetime | None:
    return parse_time(text) if text else None


@dataclass(frozen=True)
class ContestRow:
    id: int
    name: str
    phrase: str
    match: str
    metric: str
    registry: str
    repository: str
    platform: str | None
    entrant_pattern: str
    entrant_map: dict[str, str]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    limits: dict[str, Any]
    created_at: dt.datetime
    identity: str = "tag"
    repositories: str = "shared"
    freeze_at: dt.datetime | None = None
    unfrozen_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ContestRow:
        fields = dict(row)
        fields["entrant_map"] = json.loads(fields["entrant_map"])
        fields["limits"] = json.loads(fields["limits"])
        fields["starts_at"] = optional_time(fields["starts_at"])
        fields["ends_at"] = optional_time(fields["ends_at"])
        fields["created_at"] = parse_time(fields["created_at"])
        fields["freeze_at"] = optional_time(fields.get("freeze_at"))
        fields["unfrozen_at"] = optional_time(fields.get("unfrozen_at"))
        return cls(**fields)


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    contest_id: int
    entrant: str
    tag: str
    digest: Digest
    first_seen: dt.datetime
    via: str  # poll | hook | admin

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SubmissionRow:
        return cls(
            int(row["id"]),
            int(row["contest_id"]),
            str(row["entrant"]),
            str(row["tag"]),
            Digest.parse(str(row["digest"])),
            parse_time(str(row["first_seen"])),
            str(row["via"]),
        )

    @property
    def order(self) -> tuple[dt.datetime, int]:
        """Who came first: first seen, then the id (ties go to whoever reached first)."""
        return (self.first_seen, self.id)


@dataclass(frozen=True)
class EventRow:
    id: int
    contest_id: int
    at: dt.datetime
    kind: EventKind
    submission_id: int | None
    digest: Digest | None
    actor: str
    data: dict[str, Any]  # the kind's payload, as stored (judge/judged.py types the judged one)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventRow:
        return cls(
            int(row["id"]),
            int(row["contest_id"]),
            parse_time(str(row["at"])),
            EventKind(str(row["kind"])),
            None if row["submission_id"] is None else int(row["submission_id"]),
            Digest.parse(str(row["digest"])) if row["digest"] else None,
            str(row["actor"]),
            json.loads(row["data"]),
        )


@dataclass(frozen=True)
class JobClaim:
    id: int
    submission_id: int
    kind: str  # judge | rejudge
    attempts: int  # including this one
    owner: str
    lease_expires: str


@dataclass(frozen=True)
class StateRow:
    """A submission's derived state as stored (contest/derived.py keeps it; Status names it)."""

    submission: SubmissionRow
    status: str
    reason: str
    verdict: str | None
    size: int | None
    metrics: dict[str, int] | None
    judged_at: dt.datetime | None
    judged_event: int | None
    duplicate_of: int | None
    ranked: bool
    board: str = ""  # which of the contest's boards this state is on (each has its own)

    COLUMNS = (
        "submission_id, contest_id, entrant, tag, digest, first_seen, via, status, reason, verdict, "
        "size, metrics, judged_at, judged_event, duplicate_of, ranked, board"
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StateRow:
        submission = SubmissionRow.from_row(dict(row, id=row["submission_id"]))
        return cls(
            submission,
            str(row["status"]),
            str(row["reason"]),
            row["verdict"],
            None if row["size"] is None else int(row["size"]),
            json.loads(row["metrics"]) if row["metrics"] else None,
            optional_time(row["judged_at"]),
            None if row["judged_event"] is None else int(row["judged_event"]),
            None if row["duplicate_of"] is None else int(row["duplicate_of"]),
            bool(row["ranked"]),
            str(row["board"]),
        )

    def values(self) -> tuple[Any, ...]:
        """The row's values in :attr:`COLUMNS` order, as stored."""
        s = self.submission
        return (
            s.id, s.contest_id, s.entrant, s.tag, str(s.digest), format_time(s.first_seen), s.via,
            self.status, self.reason, self.verdict, self.size,
            None if self.metrics is None else json.dumps(self.metrics, sort_keys=True),
            None if self.judged_at is None else format_time(self.judged_at),
            self.judged_event, self.duplicate_of, int(self.ranked), self.board,
        )  # fmt: skip


@dataclass(frozen=True)
class BoardRecord:
    """One of a contest's boards as stored (judge/boards.py's ``Board`` is the value)."""

    name: str
    title: str
    metric: str
    message: str  # files | anywhere
    exit: str  # zero | any
    platforms: str  # comma-separated; empty: every platform the contest judges
    position: int  # the boards in order; the first is the contest's main board

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BoardRecord:
        return cls(
            str(row["name"]), str(row["title"]), str(row["metric"]), str(row["message"]),
            str(row["exit"]), str(row["platforms"]), int(row["position"]),
        )  # fmt: skip


@dataclass(frozen=True)
class EntrantRow:
    """An entrant's derived summary: counts, latest submission, best and place."""

    entrant: str
    joined: dt.datetime  # their first submission's first-seen time
    first_submission: int
    latest: int  # their latest submission (by first seen, then id)
    latest_seen: dt.datetime
    submissions: int
    accepted: int
    best: int | None
    size: int | None
    reached: dt.datetime | None  # when the best was first seen
    place: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EntrantRow:
        return cls(
            str(row["entrant"]),
            parse_time(str(row["joined"])),
            int(row["first_submission"]),
            int(row["latest"]),
            parse_time(str(row["latest_seen"])),
            int(row["submissions"]),
            int(row["accepted"]),
            None if row["best"] is None else int(row["best"]),
            None if row["size"] is None else int(row["size"]),
            optional_time(row["reached"]),
            None if row["place"] is None else int(row["place"]),
        )


@dataclass(frozen=True)
class MetaRow:
    """A contest's derived-table bookkeeping: the last event they reflect, and counts."""

    applied_event: int
    submissions: int
    pending: int  # QUEUED or RETRYING (JUDGING is composed from the jobs when read)
    ranked: int  # entrants on the board
    entrants: int
