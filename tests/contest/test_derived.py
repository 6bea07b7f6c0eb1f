"""The derived standings tables against the reference: incremental == rebuilt == derive().

Hypothesis drives random event sequences through the real write path (intake with its window
and rate rules, verdicts, re-judges, copies, disqualifications and reinstatements, failed pulls,
metric changes) on SQLite and PostgreSQL. After every step the board, every submission's state
and the record timeline read from the tables must equal :func:`derive` over the events alone; at
the end, so must a rebuild.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegolf.contest import Contest, create_contest, record_push
from imagegolf.contest import derived as dv
from imagegolf.contest.reads import board, entrant, open_contest, snapshot
from imagegolf.contest.settings import change_settings
from imagegolf.contest.standings import Standings, derive
from imagegolf.db import Database, open_database
from imagegolf.db import queries as q
from imagegolf.db.clock import stored_time
from imagegolf.db.records import EventKind
from imagegolf.db.schema import MIGRATIONS
from imagegolf.judge.verdict import Verdict

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
ENTRANTS = ("amy", "bob", "cat", "dan", "eve")
METRICS = ("docker_classic", "containerd_content", "podman", "registry_compressed", "pull_bytes")
_names = itertools.count()


def digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(f"image {n}".encode()).hexdigest()


def layer(n: int) -> str:
    return "sha256:" + hashlib.sha256(f"layer {n}".encode()).hexdigest()


@dataclass(frozen=True)
class Push:
    entrant: str
    version: int  # tag amy, amy-v1, amy-v2…
    image: int
    minute: int  # first seen, minutes after the start (the window ends at 120)


@dataclass(frozen=True)
class Verdictx:
    target: int  # which submission (modulo how many there are)
    verdict: Verdict
    size: int
    layers: tuple[int, ...]
    index: bool  # judged through an index: the manifest digest differs from the submitted one
    again: bool  # a re-judge


@dataclass(frozen=True)
class Other:
    target: int
    kind: EventKind  # disqualified, reinstated, pull_failed, admin, settings_changed (the metric)


pushes = st.builds(
    Push,
    st.sampled_from(ENTRANTS),
    st.integers(0, 2),
    st.integers(0, 5),
    st.integers(-5, 130),
)
verdicts = st.builds(
    Verdictx,
    st.integers(0, 50),
    st.sampled_from([Verdict.ACCEPTED] * 4 + [Verdict.WRONG_OUTPUT, Verdict.INTERNAL_ERROR]),
    st.integers(60, 75),
    st.lists(st.integers(0, 4), max_size=3).map(tuple),
    st.booleans(),
    st.booleans(),
)
others = st.builds(
    Other,
    st.integers(0, 50),
    st.sampled_from(
        [
            EventKind.DISQUALIFIED,
            EventKind.REINSTATED,
            EventKind.REINSTATED,
            EventKind.PULL_FAILED,
            EventKind.ADMIN,
            EventKind.SETTINGS_CHANGED,
        ]
    ),
)
# Some pushes first (so there is something to judge), then anything in any order.
steps = st.tuples(
    st.lists(pushes, min_size=3, max_size=10),
    st.lists(st.one_of(pushes, verdicts, verdicts, verdicts, others), min_size=5, max_size=40),
).map(lambda parts: parts[0] + parts[1])


def new_contest(db: Database) -> Contest:
    return create_contest(
        db,
        name=f"p{next(_names)}",
        phrase="hello",
        repository="127.0.0.1:5000/c",
        entrant_pattern=r"(?P<entrant>[a-z]+)(-v\d+)?",
        starts_at=START.isoformat(),
        ends_at=(START + dt.timedelta(minutes=120)).isoformat(),
        limits={"per_entrant_per_hour": 2},
    )


def judged(step: Verdictx, submitted: str) -> dict[str, Any]:
    manifest = digest(1000 + step.target % 3) if step.index else submitted
    return {
        "verdict": step.verdict.value,
        "reason": step.verdict.value.lower(),
        "manifest_digest": manifest,
        # The metrics rank differently (a metric change moves the board).
        "metrics": None
        if step.verdict is not Verdict.ACCEPTED
        else {m: step.size + (i * (step.target + 1)) % 5 for i, m in enumerate(METRICS)},
        "layers": [{"digest": layer(n), "size": 1} for n in step.layers],
    }


def play(db: Database, contest: Contest, step: Push | Verdictx | Other) -> Contest:
    """Play one step; the contest as it is after it (a settings change moves the metric)."""
    if isinstance(step, Push):
        tag = step.entrant if step.version == 0 else f"{step.entrant}-v{step.version}"
        at = START + dt.timedelta(minutes=step.minute)
        record_push(db, contest, tag, digest(step.image), via="poll", at=at)
        return contest
    if isinstance(step, Other) and step.kind is EventKind.SETTINGS_CHANGED:
        metric = METRICS[step.target % len(METRICS)]
        return change_settings(db, contest, {"metric": metric}, actor="test")
    subs = db.run(lambda tx: q.submissions(tx, contest.id), write=False)
    if not subs:
        return contest
    target = sorted(subs, key=lambda s: s.id)[step.target % len(subs)]
    if isinstance(step, Verdictx):
        kind = EventKind.REJUDGED if step.again else EventKind.JUDGED
        data = judged(step, str(target.digest))
    elif step.kind is EventKind.ADMIN:
        db.run(lambda tx: dv.record(tx, contest, EventKind.ADMIN, "test", {"action": "note"}))
        return contest
    else:  # a reinstatement may come with no disqualification to undo: the rules must not care
        kind, data = step.kind, {"reason": "because", "retry_at": "2026-12-01T10:00:00.000000Z"}
    db.run(lambda tx: dv.record(tx, contest, kind, "test", data, submission=target))
    return contest


def reference(db: Database, contest: Contest) -> Standings:
    def read(tx: Any) -> Standings:
        running = q.running_submissions(tx, contest.id)
        return derive(q.submissions(tx, contest.id), q.events(tx, contest.id), contest.metric, running)

    return db.run(read, write=False)


def assert_same(db: Database, contest: Contest) -> Standings:
    expected = reference(db, contest)
    actual = snapshot(db, contest).standings
    assert actual.states == expected.states
    assert actual.board == expected.board
    assert actual.unranked == expected.unranked
    assert actual.records == expected.records
    return expected


def assert_pages(db: Database, contest: Contest, expected: Standings) -> None:
    """The paged reads agree with the reference too: board pages, totals, each entrant's page."""
    first = board(db, contest, per_page=2)
    rows = list(first.rows)
    for number in range(2, first.page.count + 1):
        rows += board(db, contest, number, per_page=2).rows
    assert tuple(rows) == expected.board
    assert first.totals.submissions == len(expected.states)
    assert first.totals.pending == expected.pending
    assert first.totals.ranked == len(expected.board)
    assert first.totals.entrants == len(expected.board) + len(expected.unranked)
    assert first.totals.records == len(expected.records)
    for name in {s.submission.entrant for s in expected.states}:
        view = entrant(db, contest, name, per_page=1000)
        assert view.states == expected.of(name)
        assert view.row == next((r for r in expected.board if r.entrant == name), None)


@pytest.mark.parametrize("examples", [1])
def test_incremental_equals_rebuilt_equals_derive(db: Database, examples: int) -> None:
    del examples
    heavy = db.dialect == "postgresql"

    @settings(
        max_examples=40 if heavy else 120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )
    @given(steps)
    def check(sequence: list[Push | Verdictx | Other]) -> None:
        contest = new_contest(db)
        for step in sequence:
            contest = play(db, contest, step)
            assert_same(db, contest)
        expected = assert_same(db, contest)
        assert_pages(db, contest, expected)
        db.run(lambda tx: dv.rebuild(tx, contest))
        assert_same(db, contest)

    check()


def test_a_database_from_before_the_derived_tables_is_built_on_first_open(db: Database) -> None:
    """Events written without the tables (an older release) are caught up on first read."""
    contest = new_contest(db)
    for n, who in enumerate(("amy", "bob", "amy")):
        record_push(
            db, contest, who if n < 2 else "amy-v1", digest(n), via="poll", at=START + dt.timedelta(minutes=n)
        )
    subs = db.run(lambda tx: q.submissions(tx, contest.id), write=False)
    for n, sub in enumerate(subs):  # as the previous release wrote verdicts: the event only
        data = judged(Verdictx(0, Verdict.ACCEPTED, 70 - n, (n,), False, False), str(sub.digest))
        db.run(lambda tx, s=sub, d=data: q.append_event(tx, contest.id, EventKind.JUDGED, "old", d,
                                                        submission_id=s.id, digest=s.digest))  # fmt: skip
    db.run(lambda tx: tx.execute("DELETE FROM standings_meta WHERE contest_id = ?", (contest.id,)))
    reopened = open_contest(db, contest.name)
    assert [r.entrant for r in board(db, reopened).rows] == ["amy", "bob"]
    assert_same(db, reopened)


def test_a_database_written_by_the_previous_release_migrates_and_builds_its_tables(db_url: str) -> None:
    """Schema 1 only (the release before the derived tables), filled as that release did."""
    with open_database(db_url, migrate=False) as old:

        def schema_1(tx: Any) -> None:
            tx.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "applied_at TEXT NOT NULL)")  # fmt: skip
            for statement in MIGRATIONS[0].statements(tx.dialect):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migrations VALUES (1, 'v1', '2026-12-01T00:00:00.000000Z')")
            cid = q.insert_contest(
                tx, name="old", phrase="hello", match="contains", metric="docker_classic",
                registry="127.0.0.1:5000", repository="c", platform=None,
                entrant_pattern="(?P<entrant>.+)", entrant_map={}, starts_at=None, ends_at=None, limits={},
            )  # fmt: skip
            assert cid is not None
            q.append_event(tx, cid, EventKind.CONTEST_CREATED, "admin", {})
            for n, who in enumerate(("amy", "bob", "cat")):
                at = START + dt.timedelta(minutes=n)
                sid = q.insert_submission(tx, cid, who, who, digest(n), at, "poll")
                assert sid is not None
                tx.execute(  # that release's job rows: cat's still queued, the others done
                    "INSERT INTO jobs (submission_id, kind, state, attempts, not_before, created_at) "
                    "VALUES (?, 'judge', ?, 0, ?, ?)",
                    (sid, "queued" if who == "cat" else "done", stored_time(at), stored_time(at)),
                )
                q.append_event(tx, cid, EventKind.SUBMITTED, "watch", {}, submission_id=sid, digest=digest(n))
                if who != "cat":
                    data = judged(Verdictx(0, Verdict.ACCEPTED, 80 - n, (n,), False, False), digest(n))
                    q.append_event(tx, cid, EventKind.JUDGED, "w", data, submission_id=sid, digest=digest(n))

        old.run(schema_1)
    with open_database(db_url) as db:
        contest = open_contest(db, "old")
        view = board(db, contest)
        assert [(r.place, r.entrant, r.size) for r in view.rows] == [(1, "bob", 79), (2, "amy", 80)]
        assert [s.submission.entrant for s in view.unranked] == ["cat"]
        assert (view.version.queued, view.version.running) == (1, 0)  # the queue's counters, filled
        assert_same(db, contest)
