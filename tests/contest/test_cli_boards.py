"""`imagegolf contest board …`: show the first board or another, list, add, remove (audited events
that build or drop the board's standings at once), and `contest set --metric` on the first board.
SQLite and PostgreSQL; the judgements are recorded as the workers record them (tests/web/seed.py)."""

from __future__ import annotations

import json

import pytest

from imagegolf.contest import boards, open_contest, snapshot
from imagegolf.contest import events as read_events
from imagegolf.db import open_database
from tests.cli.run_cli import cli
from tests.web import seed


@pytest.fixture
def contest_db(db_url: str) -> str:
    """A contest made by `contest init` (the default boards), with the three kinds of images."""
    made = cli("contest", "init", "--db", db_url, "--name", "golf", "--repository", seed.REPOSITORY)
    assert made.code == 0, made.stderr
    with open_database(db_url) as db:
        seed.judge_three_kinds(db, open_contest(db, "golf"))
    return db_url


def run(*argv: str) -> str:
    result = cli(*argv)
    assert result.code == 0, result.stderr
    return result.text


def test_board_shows_the_first_board_and_names_another(contest_db: str) -> None:
    data = json.loads(run("contest", "board", "--db", contest_db, "--json"))
    assert {"contest", "board", "unranked", "records"} <= set(data)  # as before boards
    assert data["board_rules"]["name"] == "classic" and data["contest"]["metric"] == "docker_classic"
    assert [(r["entrant"], r["size"]) for r in data["board"]] == [("amy", 71)]
    assert data["unranked"] == ["bob", "cat"]
    opened = json.loads(run("contest", "board", "--db", contest_db, "--name", "open", "--json"))
    assert [r["entrant"] for r in opened["board"]] == ["bob", "amy", "cat"]
    assert json.loads(run("contest", "board", "show", "open", "--db", contest_db, "--json")) == opened
    text = run("contest", "board", "--db", contest_db)
    assert "board classic: ranked by docker_classic; the message in its files only" in text
    assert "no accepted image yet: bob, cat" in text
    pull = run("contest", "board", "show", "pull", "--db", contest_db)
    assert "board pull: ranked by pull_bytes" in pull and "600B (600)" in pull
    missing = cli("contest", "board", "show", "nope", "--db", contest_db)
    assert missing.code == 2 and "no board named 'nope' (boards: classic, open, pull)" in missing.stderr
    history = json.loads(run("contest", "history", "cat", "--board", "open", "--db", contest_db, "--json"))
    assert (history[0]["status"], history[0]["place"]) == ("ACCEPTED", 3)


def test_list_add_and_remove_boards(contest_db: str) -> None:
    listed = json.loads(run("contest", "board", "list", "--db", contest_db, "--json"))
    assert [(b["name"], b["leader"]["entrant"]) for b in listed] == [
        ("classic", "amy"),
        ("open", "bob"),
        ("pull", "bob"),
    ]
    listing = run("contest", "board", "list", "--db", contest_db)
    assert "classic (Classic): ranked by docker_classic" in listing
    added = run(
        "contest", "board", "--db", contest_db, "add", "tiny-386", "--metric", "registry_compressed",
        "--exit", "any", "--message", "files", "--platform", "i386", "--title", "Tiny 386", "--actor", "ann",
    )  # fmt: skip
    assert "board 'tiny-386' added to contest 'golf' by ann" in added
    assert "ranked by registry_compressed; the message in its files only; any exit status; linux/386" in added
    assert "1 entrant(s) on it" in added  # amy (judged as linux/386); bob's and cat's CMD hold the phrase
    with open_database(contest_db) as db:
        contest = open_contest(db, "golf")
        assert [b.name for b in boards(db, contest)] == ["classic", "open", "pull", "tiny-386"]
        tiny = snapshot(db, contest, "tiny-386").standings
        assert [(r.entrant, r.size) for r in tiny.board] == [("amy", 104)]  # 71 + 33
        event = read_events(db, contest, limit=1, newest_first=True)[0]
        assert (event.kind, event.actor, event.data["board"]["name"]) == ("board_added", "ann", "tiny-386")
        assert event.data["board"]["platforms"] == ["linux/386"]
    again = cli("contest", "board", "add", "tiny-386", "--metric", "podman", "--db", contest_db)
    assert again.code == 2 and "already has a board named 'tiny-386'" in again.stderr
    for bad, said in (
        (("Bad Name", "--metric", "podman"), "board name 'Bad Name'"),
        (("x", "--metric", "bytes"), "metric 'bytes': give one of"),
        (("x", "--metric", "podman", "--platform", "plan9/z80"), "plan9"),
    ):
        refused = cli("contest", "board", "add", *bad, "--db", contest_db)
        assert refused.code == 2 and said in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    removed = run("contest", "board", "remove", "tiny-386", "--db", contest_db, "--actor", "ann")
    assert "board 'tiny-386' removed" in removed and "boards now: classic, open, pull" in removed
    with open_database(contest_db) as db:
        contest = open_contest(db, "golf")
        leftover = db.run(
            lambda tx: tx.one("SELECT COUNT(*) AS n FROM submission_states WHERE board = 'tiny-386'"),
            write=False,
        )
        assert leftover is not None and int(leftover["n"]) == 0  # its rows went with it
        assert read_events(db, contest, limit=1, newest_first=True)[0].kind == "board_removed"


def test_removing_the_first_board_makes_the_next_the_main_one_and_never_the_last(contest_db: str) -> None:
    run("contest", "board", "remove", "classic", "--db", contest_db)
    data = json.loads(run("contest", "board", "--db", contest_db, "--json"))
    assert data["board_rules"]["name"] == "open" and data["board"][0]["entrant"] == "bob"
    removed = run("contest", "board", "remove", "open", "--db", contest_db)
    assert "the contest's metric is the first board's: pull_bytes" in removed
    with open_database(contest_db) as db:
        assert open_contest(db, "golf").metric == "pull_bytes"
    last = cli("contest", "board", "remove", "pull", "--db", contest_db)
    assert last.code == 2 and "'pull' is the contest's only board" in last.stderr
    gone = cli("contest", "board", "remove", "classic", "--db", contest_db)
    assert gone.code == 2 and "no board named 'classic' (boards: pull)" in gone.stderr


def test_set_metric_changes_the_first_board_only(contest_db: str) -> None:
    changed = run("contest", "set", "--metric", "pull_bytes", "--db", contest_db)
    assert "metric: docker_classic → pull_bytes" in changed
    assert "the first board is ranked by pull_bytes now" in changed
    assert "the other boards keep their metrics" in changed
    listed = {b["name"]: b for b in json.loads(run("contest", "board", "list", "--db", contest_db, "--json"))}
    assert {name: b["metric"] for name, b in listed.items()} == {
        "classic": "pull_bytes",
        "open": "docker_classic",
        "pull": "pull_bytes",
    }
    assert listed["classic"]["leader"]["size"] == 621  # amy by pull_bytes (71 + 550)
    shown = json.loads(run("contest", "set", "--runs", "4", "--db", contest_db, "--json"))
    assert shown["settings"]["metric"] == "pull_bytes"
