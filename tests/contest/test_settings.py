"""Settings changed while the contest runs, reinstatement, and the scoreboard freeze (SQLite and
PostgreSQL): each change is one audited event, a metric change re-ranks, the frozen board is the
board of the submissions first seen before the freeze."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from imagegolf.contest import Contest, derived, disqualify, reinstate, submission_detail
from imagegolf.contest import board as read_board
from imagegolf.contest import events as read_events
from imagegolf.contest.frozen import FROZEN_REASON, freeze, frozen_view
from imagegolf.contest.reads import open_contest, snapshot
from imagegolf.contest.settings import apply_settings, change_settings, settings_of, unfreeze
from imagegolf.contest.standings import Standings, Status, derive
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError
from tests.cli.run_cli import cli
from tests.web import seed

METRICS = ("docker_classic", "containerd_content", "podman", "registry_compressed", "pull_bytes")


def judge(db: Database, contest: Contest, sid: int, **sizes: int) -> None:
    """A verdict whose metrics are given one by one (so that two metrics can rank differently)."""
    row = db.run(lambda tx: q.submission(tx, sid), write=False)
    assert row is not None
    data = seed.judged_data("ACCEPTED", 100, manifest=str(row.digest))
    data["metrics"] = {m: sizes.get(m, 100) for m in METRICS}

    def write(tx: Transaction) -> None:
        derived.record(tx, contest, EventKind.JUDGED, "worker:test", data, submission=row)
        tx.execute("UPDATE jobs SET state = 'done' WHERE submission_id = ?", (sid,))

    db.run(write)


def places(db: Database, contest: Contest) -> list[tuple[str, int]]:
    return [(r.entrant, r.size) for r in read_board(db, contest).rows]


def reference(db: Database, contest: Contest) -> Standings:
    def read(tx: Transaction) -> Standings:
        return derive(q.submissions(tx, contest.id), q.events(tx, contest.id), contest.metric)

    return db.run(read, write=False)


def same_as_derive(db: Database, contest: Contest) -> None:
    expected, actual = reference(db, contest), snapshot(db, contest).standings
    assert (actual.states, actual.board, actual.records) == (
        expected.states,
        expected.board,
        expected.records,
    )


def newest(db: Database, contest: Contest) -> Any:
    return read_events(db, contest, limit=1, newest_first=True)[0]


@pytest.fixture
def field(db: Database) -> tuple[Contest, dict[str, int]]:
    """amy is smallest by docker_classic, bob by pull_bytes."""
    contest = seed.make_contest(db)
    ids = {
        "amy": seed.push(db, contest, "amy", minutes=1),
        "bob": seed.push(db, contest, "bob", minutes=2),
        "cat": seed.push(db, contest, "cat", minutes=3),
    }
    judge(db, contest, ids["amy"], docker_classic=70, pull_bytes=700)
    judge(db, contest, ids["bob"], docker_classic=80, pull_bytes=600)
    judge(db, contest, ids["cat"], docker_classic=90, pull_bytes=650)
    return contest, ids


def test_a_metric_change_is_one_event_and_re_ranks_the_board(
    db: Database, field: tuple[Contest, dict[str, int]]
) -> None:
    contest, _ids = field
    assert places(db, contest) == [("amy", 70), ("bob", 80), ("cat", 90)]
    before = read_events(db, contest, limit=1000)
    changed = change_settings(db, contest, {"metric": "pull_bytes", "runs": 5}, actor="alice@test")
    assert changed.metric == "pull_bytes" and changed.limits["runs"] == 5
    assert changed.limits["per_entrant_per_hour"] == 100  # the other limits are kept
    after = read_events(db, contest, limit=1000)
    assert len(after) == len(before) + 1
    event = after[-1]
    assert (event.kind, event.actor, event.submission_id) == ("settings_changed", "alice@test", None)
    assert event.data == {"changes": {"metric": ["docker_classic", "pull_bytes"], "runs": [3, 5]}}
    assert places(db, changed) == [("bob", 600), ("cat", 650), ("amy", 700)]
    assert open_contest(db, contest.name).metric == "pull_bytes"  # the row, read again
    same_as_derive(db, changed)
    # The records are the timeline by the new metric: amy 700 first, then bob's 600.
    assert [(p.entrant, p.size) for p in snapshot(db, changed).standings.records] == [
        ("amy", 700),
        ("bob", 600),
    ]


def test_a_verdict_recorded_with_the_old_metric_is_sized_by_the_new_one(
    db: Database, field: tuple[Contest, dict[str, int]]
) -> None:
    """A worker claimed its job before the change and records with the Contest it read then."""
    stale, _ids = field
    late = seed.push(db, stale, "dan", minutes=4)
    changed = change_settings(db, stale, {"metric": "pull_bytes"}, actor="admin")
    judge(db, stale, late, docker_classic=10, pull_bytes=900)  # `stale` still says docker_classic
    assert places(db, changed)[-1] == ("dan", 900)
    same_as_derive(db, changed)


def test_nothing_changed_records_nothing(db: Database, field: tuple[Contest, dict[str, int]]) -> None:
    contest, _ids = field
    before = read_events(db, contest, limit=1000)
    same = apply_settings(db, contest, {"metric": "docker_classic", "runs": 3}, actor="admin")
    assert not same.changed and same.changes == {}
    assert settings_of(same.contest) == settings_of(contest)
    assert read_events(db, contest, limit=1000) == before


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"metric": "bytes"}, "metric 'bytes': give one of"),
        ({"runs": 0}, "runs 0: give between 1 and 20"),
        ({"runs": "3"}, "runs 3: give a whole number"),
        ({"timeout_s": -1}, "timeout -1: give a positive number"),
        ({"per_entrant_per_hour": -2}, "submissions per hour -2"),
        ({"cross_check": "yes"}, "cross-check: give true or false"),
        ({"platform": "linux/nonsense"}, "nonsense"),
        ({"identity": "email"}, "identity 'email': give tag or registry-user"),
        ({"starts_at": "yesterday"}, "start 'yesterday': give an ISO-8601 time"),
        (
            {"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z"},
            "the end must be after the start",
        ),
        (
            {"ends_at": "2026-05-01T10:00:00Z", "freeze_at": "2026-05-01T11:00:00Z"},
            "the freeze time must be before the end",
        ),
        ({"colour": "red"}, "unknown settings: colour"),
    ],
)
def test_invalid_settings_are_refused_and_change_nothing(
    db: Database, field: tuple[Contest, dict[str, int]], changes: dict[str, Any], words: str
) -> None:
    contest, _ids = field
    before = read_events(db, contest, limit=1000)
    with pytest.raises(UsageError) as refused:
        change_settings(db, contest, {"metric": "podman", **changes}, actor="admin")
    assert words in str(refused.value)
    assert read_events(db, contest, limit=1000) == before
    assert settings_of(open_contest(db, contest.name)) == settings_of(contest)


def test_a_window_moved_past_the_freeze_says_so(db: Database, field: tuple[Contest, dict[str, int]]) -> None:
    contest, _ids = field
    change_settings(db, contest, {"freeze_at": "2026-05-01T12:00:00Z"}, actor="admin")
    with pytest.raises(UsageError) as refused:
        change_settings(db, contest, {"ends_at": "2026-05-01T11:00:00Z"}, actor="admin")
    assert "the freeze is at 2026-05-01T12:00:00" in str(refused.value)
    assert "move the freeze time, or drop it" in str(refused.value)
    # Both at once is fine; and the freeze dropped, any end goes.
    both = {"ends_at": "2026-05-01T11:00:00Z", "freeze_at": "2026-05-01T10:30:00Z"}
    assert change_settings(db, contest, both, actor="admin").freeze_at == seed.moment(90)
    dropped = change_settings(db, contest, {"freeze_at": None, "ends_at": "2026-05-01T10:00:00Z"}, actor="a")
    assert dropped.freeze_at is None


def test_reinstate_undoes_a_disqualification(db: Database, field: tuple[Contest, dict[str, int]]) -> None:
    contest, ids = field
    assert disqualify(db, contest, str(ids["amy"]), "looked odd", actor="admin") == 1
    assert places(db, contest)[0] == ("bob", 80)
    with pytest.raises(UsageError) as refused:
        reinstate(db, contest, str(ids["bob"]), "sorry", actor="admin")
    assert "is not disqualified" in str(refused.value) and "ACCEPTED" in str(refused.value)
    with pytest.raises(UsageError, match="needs a reason"):
        reinstate(db, contest, str(ids["amy"]), "  ", actor="admin")
    assert reinstate(db, contest, seed.digest("amy"), "it was fine", actor="carol") == 1
    event = newest(db, contest)
    assert (event.kind, event.submission_id, event.actor, event.data) == (
        "reinstated",
        ids["amy"],
        "carol",
        {"reason": "it was fine"},
    )
    assert places(db, contest) == [("amy", 70), ("bob", 80), ("cat", 90)]
    assert submission_detail(db, contest, ids["amy"]).state.status is Status.ACCEPTED
    same_as_derive(db, contest)
    with pytest.raises(UsageError, match="not disqualified"):  # twice: nothing to undo
        reinstate(db, contest, str(ids["amy"]), "again", actor="admin")
    # Disqualified again after the reinstatement: the latest ruling decides.
    disqualify(db, contest, str(ids["amy"]), "it was not", actor="admin")
    assert submission_detail(db, contest, ids["amy"]).state.status is Status.DISQUALIFIED
    same_as_derive(db, contest)


def frozen_contest(db: Database) -> tuple[Contest, dict[str, int]]:
    """Frozen at T0+10 min: amy and bob before; bob's smaller image, cat and a copy after."""
    contest = seed.make_contest(db, freeze_at=seed.at(10))
    ids = {
        "amy": seed.push(db, contest, "amy", minutes=1),
        "bob": seed.push(db, contest, "bob", minutes=2),
        "queued_at_freeze": seed.push(db, contest, "amy", "amy-2", minutes=5),
        "bob_after": seed.push(db, contest, "bob", "bob-2", minutes=11),
        "cat_after": seed.push(db, contest, "cat", minutes=12),
    }
    seed.judge(db, contest, ids["amy"], size=70)
    seed.judge(db, contest, ids["bob"], size=80)
    seed.judge(db, contest, ids["bob_after"], size=50)  # would lead the board
    seed.judge(db, contest, ids["cat_after"], "WRONG_OUTPUT", 60)
    seed.judge(db, contest, ids["queued_at_freeze"], size=65)  # judged after the freeze: shown
    return contest, ids


def test_the_frozen_board_is_the_board_of_the_submissions_before_the_freeze(db: Database) -> None:
    contest, ids = frozen_contest(db)
    assert contest.frozen(seed.moment(30)) and not contest.frozen(seed.moment(9))
    view = frozen_view(db, contest)
    # The reference: derive over the submissions first seen before the freeze, and their events.
    subs = db.run(lambda tx: q.submissions(tx, contest.id), write=False)
    every = db.run(lambda tx: q.events(tx, contest.id), write=False)
    early = [s for s in subs if s.first_seen < seed.moment(10)]
    expected = derive(early, [e for e in every if e.submission_id in {s.id for s in early}], contest.metric)
    shown = view.standings
    assert [(r.place, r.entrant, r.size, r.best) for r in shown.board] == [
        (r.place, r.entrant, r.size, r.best) for r in expected.board
    ]
    assert [(r.entrant, r.size) for r in shown.board] == [("amy", 65), ("bob", 80)]
    assert shown.records == expected.records
    assert [s for s in shown.states if s.submission.first_seen < seed.moment(10)] == list(expected.states)
    hidden = [s for s in shown.states if s.submission.id in (ids["bob_after"], ids["cat_after"])]
    assert [(s.status, s.reason, s.size, s.verdict) for s in hidden] == [
        (Status.FROZEN, FROZEN_REASON, None, None)
    ] * 2
    # cat has only a frozen submission: not on the board yet, and pending.
    page = view.board()
    assert [s.submission.entrant for s in page.unranked] == ["cat"] and page.unranked[
        0
    ].status is Status.FROZEN
    assert page.totals.pending == 2 and page.totals.ranked == 2 and page.totals.entrants == 3
    assert page.rows[1].submissions == 2  # bob's count includes his frozen push
    assert [s.status for s in view.entrant("bob").states] == [Status.ACCEPTED, Status.FROZEN]
    # What the public sees of events: a frozen submission's verdict is hidden, the push is not.
    masked = {
        e.submission_id: e for e in view.mask(read_events(db, contest, limit=1000)) if e.kind == "judged"
    }
    assert masked[ids["bob_after"]].data == {"hidden": FROZEN_REASON}
    assert masked[ids["amy"]].data["verdict"] == "ACCEPTED"
    exported = view.snapshot().standings
    assert [r.entrant for r in exported.board] == ["amy", "bob"]
    # The organiser's reads, and each submission's own page, are the real ones.
    assert [(r.entrant, r.size) for r in read_board(db, contest).rows] == [("bob", 50), ("amy", 65)]
    assert submission_detail(db, contest, ids["bob_after"]).state.size == 50


def test_unfreeze_and_the_end_show_the_final_board(db: Database) -> None:
    contest, _ids = frozen_contest(db)
    with pytest.raises(UsageError, match="not frozen: it freezes at"):
        unfreeze(db, contest, actor="admin", at=seed.moment(5))
    shown = unfreeze(db, contest, actor="organiser")
    assert shown.unfrozen_at is not None and not shown.frozen(seed.moment(30))
    event = newest(db, contest)
    assert (event.kind, event.actor, event.data["freeze_at"]) == ("unfrozen", "organiser", seed.at(10))
    with pytest.raises(UsageError, match="not frozen: it was unfrozen at"):
        unfreeze(db, shown, actor="admin")
    # A new freeze time freezes again (the unfreeze is forgotten, on record).
    again = change_settings(db, shown, {"freeze_at": seed.at(11)}, actor="admin")
    assert again.unfrozen_at is None and again.frozen(seed.moment(30))
    assert newest(db, contest).data["changes"]["unfrozen_at"][1] is None
    # The end: no longer frozen, whatever the freeze.
    ended = change_settings(db, again, {"ends_at": seed.at(20)}, actor="admin")
    assert ended.frozen(seed.moment(15)) and not ended.frozen(seed.moment(20))
    no_freeze = change_settings(db, ended, {"freeze_at": None}, actor="admin")
    with pytest.raises(UsageError, match="has no freeze time"):
        unfreeze(db, no_freeze, actor="admin")


def test_settings_reinstate_and_unfreeze_from_the_cli(db_url: str, db: Database) -> None:
    contest = seed.make_contest(db)
    amy = seed.push(db, contest, "amy", minutes=1)
    seed.push(db, contest, "bob", minutes=2)
    seed.judge(db, contest, amy, size=70)
    shown = cli("contest", "set", "--db", db_url, "--metric", "podman", "--runs", "2", "--no-cross-check",
                "--freeze-at", "2026-05-01T09:10:00Z", "--actor", "ops")  # fmt: skip
    assert shown.code == 0, shown.stderr
    assert "metric: docker_classic → podman" in shown.text
    assert "runs: 3 → 2" in shown.text and "cross_check: True → False" in shown.text
    assert "rejudge" in shown.text  # runs and cross-check apply to what is judged next
    assert "re-ranked" in shown.text and "frozen since 2026-05-01T09:10:00" in shown.text
    assert newest(db, contest).actor == "ops"
    same = cli("contest", "set", "--db", db_url, "--metric", "podman")
    assert same.code == 0 and "nothing changed" in same.text
    assert cli("contest", "set", "--db", db_url).code == 2  # no setting given
    bad = cli("contest", "set", "--db", db_url, "--runs", "0")
    assert bad.code == 2 and "runs 0: give between 1 and" in bad.stderr and "Traceback" not in bad.stderr
    as_json = json.loads(cli("contest", "set", "--db", db_url, "--per-hour", "5", "--json").text)
    assert as_json["changes"] == {"per_entrant_per_hour": [100, 5]}
    assert as_json["settings"]["metric"] == "podman"
    # reinstate
    assert cli("contest", "disqualify", "--db", db_url, str(amy), "--reason", "odd").code == 0
    refused = cli("contest", "reinstate", "--db", db_url, str(amy + 1), "--reason", "x")
    assert refused.code == 2 and "not disqualified" in refused.stderr
    back = cli("contest", "reinstate", "--db", db_url, str(amy), "--reason", "it was fine")
    assert back.code == 0, back.stderr
    assert "reinstated 1 submission" in back.text
    assert submission_detail(db, contest, amy).state.status is Status.ACCEPTED
    # unfreeze
    thawed = cli("contest", "unfreeze", "--db", db_url)
    assert thawed.code == 0, thawed.stderr
    assert "final board" in thawed.text
    assert open_contest(db, contest.name).unfrozen_at is not None
    twice = cli("contest", "unfreeze", "--db", db_url)
    assert twice.code == 2 and "not frozen" in twice.stderr
    cleared = cli("contest", "set", "--db", db_url, "--no-freeze")
    assert cleared.code == 0 and "does not freeze" in cleared.text


def test_the_frozen_view_of_a_contest_without_a_freeze_is_the_real_one(db: Database) -> None:
    contest, _ids = frozen_contest(db)
    plain = dataclasses.replace(contest, freeze_at=None)
    view = frozen_view(db, plain)
    assert view.hidden == frozenset()
    assert view.standings.board == snapshot(db, plain).standings.board
    assert freeze(plain, snapshot(db, plain).standings.states) == snapshot(db, plain).standings
