"""The settings an organiser may change while the contest runs (``contest set``, the admin page),
and the end of a scoreboard freeze (``contest unfreeze``).

Each change is validated as ``contest init`` validates it, written to the contest's row and
recorded as ONE ``settings_changed`` event, ``{"changes": {setting: [old, new]}}``, in the same
transaction. What each change moves:

- ``metric``: the contest's first (main) board is ranked again at once (its derived rows are
  rebuilt from the events in that transaction: every submission's size is its judgement's size
  by the new metric); the other boards keep their own metrics (``contest board``);
- the window (``starts_at``, ``ends_at``), ``identity`` and the hourly limit: pushes seen from now
  on; what was recorded keeps its status;
- ``platform``, ``runs``, ``timeout_s``, ``cross_check``, ``runtime``: what is judged next; a submission
  judged already keeps its verdict until it is judged again (``contest rejudge``);
- ``freeze_at``: when the public board freezes (docs/contest.md, "The freeze"). Setting it
  again after an unfreeze freezes again.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from imagegolf.contest import board_store, derived
from imagegolf.contest.model import METRICS, Contest, check_freeze, check_identity, parse_moment
from imagegolf.db import Database, Transaction
from imagegolf.db import derived as d
from imagegolf.db import queries as q
from imagegolf.db.clock import format_time, now, parse_time
from imagegolf.db.records import EventKind
from imagegolf.engine.runtimes import check_runtime
from imagegolf.errors import UsageError
from imagegolf.judge.options import MAX_RUNS
from imagegolf.platform import Platform

LIMITS = ("per_entrant_per_hour", "runs", "timeout_s", "cross_check", "runtime")
SETTINGS = ("metric", "platform", "starts_at", "ends_at", "freeze_at", "identity", *LIMITS)
# What messages call each setting (the CLI and the admin page add their own words for it).
LABELS = {
    "metric": "metric",
    "platform": "platform",
    "starts_at": "start",
    "ends_at": "end",
    "freeze_at": "freeze time",
    "identity": "identity",
    "per_entrant_per_hour": "submissions per hour",
    "runs": "runs",
    "timeout_s": "timeout",
    "cross_check": "cross-check",
    "runtime": "runtime",
}
_TIMES = ("starts_at", "ends_at", "freeze_at")


@dataclass(frozen=True)
class SettingsChange:
    contest: Contest  # as it is now
    changes: dict[str, list[Any]]  # setting → [old, new]; empty: nothing changed, nothing recorded

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def settings_of(contest: Contest) -> dict[str, Any]:
    """The settable values, as ``contest set`` takes them and the event records them."""
    return {
        "metric": contest.metric,
        "platform": ",".join(str(p) for p in contest.platforms) or None,
        "starts_at": _stored(contest.starts_at),
        "ends_at": _stored(contest.ends_at),
        "freeze_at": _stored(contest.freeze_at),
        "identity": contest.identity.value,
        **{name: contest.limits.get(name) for name in LIMITS},
    }


def change_settings(db: Database, contest: Contest, changes: dict[str, Any], *, actor: str) -> Contest:
    """Change settings of a running contest: validated, written and recorded as one event (none
    when nothing changes); a metric change re-ranks the board in the same transaction. Returns
    the contest as it is now."""
    return apply_settings(db, contest, changes, actor=actor).contest


def apply_settings(db: Database, contest: Contest, changes: dict[str, Any], *, actor: str) -> SettingsChange:
    """:func:`change_settings`, also saying what changed (``[old, new]`` per setting)."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise UsageError(f"unknown settings: {', '.join(unknown)} (known: {', '.join(SETTINGS)})")

    def write(tx: Transaction) -> SettingsChange:
        d.metas(tx, contest.id, lock=True)  # one change of this contest at a time (PostgreSQL)
        row = q.contest_by_id(tx, contest.id)
        assert row is not None
        current = Contest.from_row(row)  # the row as it is now, not as the caller last read it
        before = settings_of(current)
        after = {**before, **{name: _check(name, value, current) for name, value in changes.items()}}
        _check_times(before, after)
        diff = {name: [before[name], after[name]] for name in SETTINGS if before[name] != after[name]}
        if not diff:
            return SettingsChange(current, {})
        columns: dict[str, Any] = {
            name: after[name] for name in ("metric", "platform", *_TIMES, "identity") if name in diff
        }
        if any(name in diff for name in LIMITS):
            columns["limits"] = {**current.limits, **{name: after[name] for name in LIMITS}}
        if "freeze_at" in diff and current.unfrozen_at is not None:
            columns["unfrozen_at"] = None  # a new freeze time: the board freezes again
            diff["unfrozen_at"] = [_stored(current.unfrozen_at), None]
        q.update_contest(tx, contest.id, **columns)
        main = board_store.first(tx, contest.id)
        if "metric" in diff:  # the contest's metric is its first board's
            q.set_board_metric(tx, contest.id, main.name, after["metric"])
        fresh = q.contest_by_id(tx, contest.id)
        assert fresh is not None
        updated = Contest.from_row(fresh)
        derived.record(tx, updated, EventKind.SETTINGS_CHANGED, actor, {"changes": diff})
        if "metric" in diff:  # every size on that board is another number now: rank it again
            derived.build_board(tx, updated, board_store.find(tx, contest.id, main.name))
        return SettingsChange(updated, diff)

    return db.run(write)


def unfreeze(db: Database, contest: Contest, *, actor: str, at: dt.datetime | None = None) -> Contest:
    """Show the final board before the end: the public pages stop hiding the results of
    submissions first seen after the freeze. Recorded as an ``unfrozen`` event."""

    def write(tx: Transaction) -> Contest:
        d.metas(tx, contest.id, lock=True)
        row = q.contest_by_id(tx, contest.id)
        assert row is not None
        current = Contest.from_row(row)
        moment = at or parse_time(now())
        if not current.frozen(moment):
            raise UsageError(f"the board is not frozen: {freeze_state(current, moment)}")
        stamp = format_time(moment)
        q.update_contest(tx, contest.id, unfrozen_at=stamp)
        fresh = q.contest_by_id(tx, contest.id)
        assert fresh is not None
        updated = Contest.from_row(fresh)
        data = {"freeze_at": _stored(current.freeze_at), "unfrozen_at": stamp}
        derived.record(tx, updated, EventKind.UNFROZEN, actor, data)
        return updated

    return db.run(write)


def freeze_state(contest: Contest, at: dt.datetime) -> str:
    """One sentence: whether and when the public board freezes, is frozen, or was unfrozen."""
    if contest.freeze_at is None:
        return "the contest has no freeze time"
    freeze = format_time(contest.freeze_at)
    if contest.unfrozen_at is not None:
        return f"it was unfrozen at {format_time(contest.unfrozen_at)} (the freeze was at {freeze})"
    if contest.ends_at is not None and at >= contest.ends_at:
        return f"the contest ended at {format_time(contest.ends_at)}: the final board is shown"
    if at < contest.freeze_at:
        return f"it freezes at {freeze}"
    return f"frozen since {freeze}"


def advice(change: SettingsChange) -> list[str]:
    """What each change moves, and when: lines for the organiser."""
    contest, changed = change.contest, set(change.changes)
    lines = []
    if "metric" in changed:
        lines.append(
            f"the first board is ranked by {contest.metric} now (re-ranked from the judgements on "
            "record); the other boards keep their metrics (`imagegolf contest board list`)"
        )
    judging = sorted(changed & {"platform", "runs", "timeout_s", "cross_check", "runtime"})
    if judging:
        lines.append(
            f"{', '.join(judging)}: applies to what is judged next; submissions judged already keep "
            "their verdicts — `imagegolf contest rejudge --all --preview` shows what would change"
        )
    intake = sorted(changed & {"starts_at", "ends_at", "identity", "per_entrant_per_hour"})
    if intake:
        lines.append(
            f"{', '.join(intake)}: applies to pushes seen from now on; pushes already recorded keep "
            "their status (`imagegolf contest rejudge` judges a submission again)"
        )
    if changed & {"freeze_at", "ends_at", "unfrozen_at"} and contest.freeze_at is not None:
        lines.append(f"the public board: {freeze_state(contest, parse_time(now()))}")
    elif "freeze_at" in changed:
        lines.append("the public board does not freeze")
    return lines


# validation, as `contest init` does it


def _check(name: str, value: Any, contest: Contest) -> Any:
    flag = LABELS[name]
    if name == "metric":
        if not isinstance(value, str) or value not in METRICS:
            raise UsageError(f"{flag} {value!r}: give one of {', '.join(METRICS)}")
        return value
    if name == "platform":
        if value is None or value == "":
            return None  # the judge host's own
        if not isinstance(value, str):
            raise UsageError(f"{flag}: give platforms as text, e.g. linux/amd64,linux/386")
        return ",".join(str(p) for p in Platform.parse_list(value))
    if name in _TIMES:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise UsageError(f"{flag}: give an ISO-8601 time, e.g. 2026-12-01T09:00:00Z")
        return parse_moment(value, flag)
    if name == "identity":
        if not isinstance(value, str):
            raise UsageError(f"{flag}: give tag or registry-user")
        who, _ = check_identity(value, contest.repositories.value)
        return who.value
    if name == "runtime":
        if not isinstance(value, str):
            raise UsageError(f"{flag}: give runc or runsc")
        return check_runtime(value, flag)
    if name == "cross_check":
        if not isinstance(value, bool):
            raise UsageError(f"{flag}: give true or false")
        return value
    if name == "timeout_s":
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not math.isfinite(value) or value <= 0:
            raise UsageError(f"{flag} {value}: give a positive number of seconds")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{flag} {value}: give a whole number")
    if name == "runs" and not 1 <= value <= MAX_RUNS:
        raise UsageError(f"{flag} {value}: give between 1 and {MAX_RUNS} runs")
    if name == "per_entrant_per_hour" and value < 0:
        raise UsageError(f"{flag} {value}: give 0 (no limit) or more")
    return value


def _check_times(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The window and the freeze together, as `contest init` checks them."""
    start, end, freeze = after["starts_at"], after["ends_at"], after["freeze_at"]
    if start and end and end <= start:
        raise UsageError("the end must be after the start")
    try:
        check_freeze(freeze, start, end)
    except UsageError as error:
        if freeze == before["freeze_at"]:  # the window moved past the freeze set earlier
            raise UsageError(
                f"{error.message}: the freeze is at {freeze}",
                hint="move the freeze time, or drop it",
            ) from None
        raise


def _stored(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


__all__ = [
    "LABELS",
    "LIMITS",
    "SETTINGS",
    "SettingsChange",
    "advice",
    "apply_settings",
    "change_settings",
    "freeze_state",
    "settings_of",
    "unfreeze",
]
