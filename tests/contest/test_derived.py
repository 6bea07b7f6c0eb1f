"""The derived standings tables against the reference: incremental == rebuilt == derive().

Hypothesis drives random event sequences through the real write path (intake with its window
and rate rules, verdicts, re-judges, copies, disqualifications and reinstatements, failed pulls,
metric changes, boards added and removed) on SQLite and PostgreSQL, in contests with one to
three boards of different rules (metric, message from files or anywhere, exit zero or any,
platforms), with judgements whose facts vary (the verdict had the exit status been free, where
the phrase sits, the platform judged). After every step each board, every submission's state on
it and its record timeline read from the tables must equal :func:`derive` over the events alone
for that board; at the end, so must a rebuild.
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

from imagegolf.contest import Board, Contest, create_contest, record_push
from imagegolf.contest import derived as dv
from imagegolf.contest.board_admin import add_board, remove_board
from imagegolf.contest.reads import board, boards, entrant, open_contest, snapshot
from imagegolf.contest.settings import change_settings
from imagegolf.contest.standings import Standings, derive
from imagegolf.db import Database, open_database
from imagegolf.db import queries as q
from imagegolf.db.clock import stored_time
from imagegolf.db.records import EventKind
from imagegolf.db.schema import MIGRATIONS
from imagegolf.errors import UsageError
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.judge.verdict import Verdict
from imagegolf.platform import Platform

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
    # The judge's facts for boards: the verdict had the exit status been free (None: a judgement
    # recorded before the judge kept it), where the phrase sits, the platform judged.
    free: Verdict | None = None
    phrase_in: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class Other:
    target: int
    kind: EventKind  # disqualified, reinstated, pull_failed, admin, settings_changed (the metric)


@dataclass(frozen=True)
class BoardChange:
    board: Board | None  # added; None: remove the board at ``target`` (modulo how many there are)
    target: int = 0


PLATFORMS = ("linux/amd64", "linux/386")
boards_ = st.builds(
    Board,
    st.sampled_from(("a", "b", "c", "d")),
    st.sampled_from(METRICS),
    st.sampled_from(list(MessageRule)),
    st.sampled_from(list(ExitRule)),
    st.sampled_from([(), (Platform.parse("linux/386"),), tuple(map(Platform.parse, PLATFORMS))]),
)
board_sets = st.lists(boards_, min_size=1, max_size=3, unique_by=lambda b: b.name)


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
    st.sampled_from(
        [Verdict.ACCEPTED] * 4 + [Verdict.RUNTIME_ERROR] * 2 + [Verdict.WRONG_OUTPUT, Verdict.INTERNAL_ERROR]
    ),
    st.integers(60, 75),
    st.lists(st.integers(0, 4), max_size=3).map(tuple),
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.WRONG_OUTPUT]),
    st.sampled_from([None, None, "config"]),
    st.sampled_from([None, *PLATFORMS]),
)
board_changes = st.one_of(
    st.builds(BoardChange, boards_), st.builds(BoardChange, st.none(), st.integers(0, 5))
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
    st.lists(st.one_of(pushes, verdicts, verdicts, verdicts, others, board_changes), min_size=5, max_size=40),
).map(lambda parts: parts[0] + parts[1])
Step = Push | Verdictx | Other | BoardChange


def new_contest(db: Database, rules: list[Board] | None = None) -> Contest:
    return create_contest(
        db,
        name=f"p{next(_names)}",
        phrase="hello",
        repository="127.0.0.1:5000/c",
        entrant_pattern=r"(?P<entrant>[a-z]+)(-v\d+)?",
        starts_at=START.isoformat(),
        ends_at=(START + dt.timedelta(minutes=120)).isoformat(),
        limits={"per_entrant_per_hour": 2},
        boards=rules,
    )


def judged(step: Verdictx, submitted: str) -> dict[str, Any]:
    manifest = digest(1000 + step.target % 3) if step.index else submitted
    data: dict[str, Any] = {
        "verdict": step.verdict.value,
        "reason": step.verdict.value.lower(),
        "manifest_digest": manifest,
        # The metrics rank differently (a metric change moves the board); an image that ran has them.
        "metrics": None
        if step.verdict is Verdict.INTERNAL_ERROR
        else {m: step.size + (i * (step.target + 1)) % 5 for i, m in enumerate(METRICS)},
        "layers": [{"digest": layer(n), "size": 1} for n in step.layers],
        "runs": [{"exit_code": 0 if step.verdict is Verdict.ACCEPTED else 3, "stdout": "hello\n"}],
        "platform": step.platform,
    }
    if step.free is not None:
        data["any_exit"] = step.free.value
    if step.phrase_in is not None:
        data["phrase_in"] = step.phrase_in
    return data


def play(db: Database, contest: Contest, step: Step) -> Contest:
    """Play one step; the contest as it is after it (a settings change moves the metric)."""
    if isinstance(step, BoardChange):
        return change_boards(db, contest, step)
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


def change_boards(db: Database, contest: Contest, step: BoardChange) -> Contest:
    """Add a board (refused when the name is taken), or remove one (refused when it is the last)."""
    try:
        if step.board is not None:
            add_board(db, contest, step.board, actor="test")
            return contest
        present = boards(db, contest)
        return remove_board(db, contest, present[step.target % len(present)].name, actor="test")[1]
    except UsageError as refused:
        assert "already has a board" in str(refused) or "only board" in str(refused)
        return contest


def reference(db: Database, contest: Contest, rules: Board | str | None = None) -> Standings:
    """``derive`` over the events alone, for a board (None: the contest's first)."""

    def read(tx: Any) -> Standings:
        running = q.running_submissions(tx, contest.id)
        ranked = rules if rules is not None else boards(db, contest)[0]
        return derive(q.submissions(tx, contest.id), q.events(tx, contest.id), ranked, running)

    return db.run(read, write=False)


def assert_same(db: Database, contest: Contest) -> Standings:
    """Every board's tables equal ``derive`` for it; the first board's standings."""
    found = [assert_board(db, contest, rules) for rules in boards(db, contest)]
    return found[0]


def assert_board(db: Database, contest: Contest, rules: Board) -> Standings:
    expected = reference(db, contest, rules)
    actual = snapshot(db, contest, rules.name).standings
    assert actual.metric == rules.metric
    assert actual.states == expected.states
    assert actual.board == expected.board
    assert actual.unranked == expected.unranked
    assert actual.records == expected.records
    return expected


def assert_pages(db: Database, contest: Contest, expected: Standings, name: str | None = None) -> None:
    """The paged reads agree with the reference too: board pages, totals, each entrant's page."""
    first = board(db, contest, per_page=2, board=name)
    rows = list(first.rows)
    for number in range(2, first.page.count + 1):
        rows += board(db, contest, number, per_page=2, board=name).rows
    assert tuple(rows) == expected.board
    assert first.totals.submissions == len(expected.states)
    assert first.totals.pending == expected.pending
    assert first.totals.ranked == len(expected.board)
    assert first.totals.entrants == len(expected.board) + len(expected.unranked)
    assert first.totals.records == len(expected.records)
    for who in {s.submission.entrant for s in expected.states}:
        view = entrant(db, contest, who, per_page=1000, board=name)
        assert view.states == expected.of(who)
        assert view.row == next((r for r in expected.board if r.entrant == who), None)


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
    @given(board_sets, steps)
    def check(rules: list[Board], sequence: list[Step]) -> None:
        contest = new_contest(db, rules)
        for step in sequence:
            contest = play(db, contest, step)
            assert_same(db, contest)
        assert_same(db, contest)
        for each in boards(db, contest):
            assert_pages(db, contest, assert_board(db, contest, each), each.name)
        db.run(lambda tx: dv.rebuild(tx, contest))
        assert_same(db, contest)

    check()


def test_the_default_boards_rank_one_judgement_three_ways(db: Database) -> None:
    """classic (files, exit 0), open (anywhere, any exit) and pull (pull_bytes): an argv image, an
    image that exits 3, and a copy that is a copy only where its original is accepted."""
    contest = new_contest(db)
    assert [b.name for b in boards(db, contest)] == ["classic", "open", "pull"]
    for n, who in enumerate(("amy", "bob", "cat", "dan")):
        record_push(db, contest, who, digest(n), via="poll", at=START + dt.timedelta(minutes=n))
    subs = {s.entrant: s for s in db.run(lambda tx: q.submissions(tx, contest.id), write=False)}
    facts = {  # amy: in files; bob: argv (phrase in the config); cat: exits 3; dan: copies bob's layer
        "amy": Verdictx(0, Verdict.ACCEPTED, 71, (1,), False, False, Verdict.ACCEPTED),
        "bob": Verdictx(1, Verdict.ACCEPTED, 60, (2,), False, False, Verdict.ACCEPTED, "config"),
        "cat": Verdictx(2, Verdict.RUNTIME_ERROR, 65, (3,), False, False, Verdict.ACCEPTED),
        "dan": Verdictx(3, Verdict.ACCEPTED, 70, (2,), False, False, Verdict.ACCEPTED),
    }
    for who, step in facts.items():
        data = judged(step, str(subs[who].digest))
        db.run(lambda tx, s=subs[who], d=data: dv.record(tx, contest, EventKind.JUDGED, "w", d, submission=s))
    ranked = {b.name: [r.entrant for r in board(db, contest, board=b.name).rows] for b in boards(db, contest)}
    # dan's layer is bob's: a duplicate where bob is accepted (open, pull), an original on classic.
    assert ranked == {"classic": ["dan", "amy"], "open": ["bob", "cat", "amy"], "pull": ["bob", "amy"]}
    assert_same(db, contest)


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
        # One board, the rules it had: its metric, the message from anywhere, exit 0, every platform.
        assert boards(db, contest) == (Board("main", "docker_classic"),)
        view = board(db, contest)
        assert view.board.name == "main"
        assert [(r.place, r.entrant, r.size) for r in view.rows] == [(1, "bob", 79), (2, "amy", 80)]
        assert [s.submission.entrant for s in view.unranked] == ["cat"]
        assert (view.version.queued, view.version.running) == (1, 0)  # the queue's counters, filled
        assert_same(db, contest)


def test_a_copy_that_is_an_original_again_takes_the_reason_its_board_gives(db: Database) -> None:
    """On the open board an image that exits 3 is accepted for its stdout; copying amy's layer it
    is a duplicate; when amy's judgement changes it is an original again, with the open board's
    reason (the exit status does not count there), not the judge's RUNTIME_ERROR reason."""
    contest = new_contest(db)
    for n, who in enumerate(("amy", "cat")):
        record_push(db, contest, who, digest(n), via="poll", at=START + dt.timedelta(minutes=n))
    amy, cat = sorted(db.run(lambda tx: q.submissions(tx, contest.id), write=False), key=lambda s: s.id)

    def judge(sub: Any, step: Verdictx, kind: EventKind = EventKind.JUDGED) -> None:
        data = judged(step, str(sub.digest))
        db.run(lambda tx: dv.record(tx, contest, kind, "w", data, submission=sub))

    judge(amy, Verdictx(0, Verdict.ACCEPTED, 71, (7,), False, False, Verdict.ACCEPTED))
    judge(cat, Verdictx(1, Verdict.RUNTIME_ERROR, 65, (7,), False, False, Verdict.ACCEPTED))
    copied = entrant(db, contest, "cat", board="open").states[0]
    assert copied.label == "REJECTED (duplicate)" and copied.duplicate_of == amy.id
    wrong = Verdictx(0, Verdict.WRONG_OUTPUT, 71, (7,), False, False, Verdict.WRONG_OUTPUT)
    judge(amy, wrong, EventKind.REJUDGED)
    again = entrant(db, contest, "cat", board="open").states[0]
    assert again.status == "ACCEPTED" and "does not count on this board" in again.reason
    assert entrant(db, contest, "cat", board="classic").states[0].status == "RUNTIME_ERROR"
    assert_same(db, contest)
