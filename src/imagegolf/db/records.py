"""Rows as values: what the queries return."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    starts_at: str | None
    ends_at: str | None
    limits: dict[str, Any]
    created_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ContestRow:
        fields = dict(row)
        fields["entrant_map"] = json.loads(fields["entrant_map"])
        fields["limits"] = json.loads(fields["limits"])
        return cls(**fields)


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    contest_id: int
    entrant: str
    tag: str
    digest: str
    first_seen: str
    via: str  # poll | hook | admin


@dataclass(frozen=True)
class EventRow:
    id: int
    contest_id: int
    at: str
    kind: str
    submission_id: int | None
    digest: str | None
    actor: str
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventRow:
        fields = dict(row)
        fields["data"] = json.loads(fields["data"])
        return cls(**fields)


@dataclass(frozen=True)
class JobClaim:
    id: int
    submission_id: int
    kind: str  # judge | rejudge
    attempts: int  # including this one
    owner: str
    lease_expires: str
