"""`imagegolf contest …` end to end: a real registry, dockerd as the engine, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.db import open_database
from imagegolf.platform import DEFAULT
from imagegolf.registry import open_registry
from tests.cli.run_cli import cli
from tests.registry_services import DistributionRegistry
from tests.services import Dockerd

PHRASE = "hello IDBS engineering"


@pytest.fixture
def contest_db(db_url: str, registry_open: DistributionRegistry, request: pytest.FixtureRequest) -> str:
    repository = f"{registry_open.host}/cli{abs(hash(request.node.nodeid)) % 10**8}"
    result = cli(
        "contest", "init", "--db", db_url, "--name", "idbs", "--repository", repository, "--runs", "1"
    )
    assert result.code == 0, result.stderr
    assert f"watching  {repository}" in result.text
    with open_registry(registry_open.host) as client:
        for tag, text in (("amy", PHRASE), ("bob", f"{PHRASE}!"), ("cat", "goodbye")):
            image = program_image(text.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
            client.push_image(repository.split("/", 1)[1], image, tag)
    return db_url


def test_watch_once_judges_and_board_history_export_show_it(contest_db: str, dockerd: Dockerd) -> None:
    env = {"DOCKER_HOST": dockerd.url}
    watched = cli("contest", "watch", "--db", contest_db, "--once", environ=env)
    assert watched.code == 0, watched.stderr
    assert watched.text.count("queued") == 3 and "WRONG_OUTPUT judged" in watched.text
    board = cli("contest", "board", "--db", contest_db, "--json")
    assert board.code == 0, board.stderr
    data = json.loads(board.text)
    assert [(r["entrant"], r["size"]) for r in data["board"]] == [("amy", 71), ("bob", 72)]
    assert "amy" in cli("contest", "board", "--db", contest_db).text
    history = cli("contest", "history", "--db", contest_db, "cat", "--json")
    assert json.loads(history.text)[0]["status"] == "WRONG_OUTPUT"
    rows = list(csv.DictReader(io.StringIO(cli("contest", "export", "--db", contest_db, "--csv").text)))
    assert sorted(r["entrant"] for r in rows) == ["amy", "bob", "cat"]
    exported = json.loads(cli("contest", "export", "--db", contest_db, "--json").text)
    assert len(exported["submissions"]) == 3
    # The derived tables lost (a hand edit, a bad restore): reindex rebuilds them from the events.
    with open_database(contest_db) as db:
        db.run(lambda tx: tx.execute("DELETE FROM entrant_best"))
    assert json.loads(cli("contest", "board", "--db", contest_db, "--json").text)["board"] == []
    reindexed = cli("contest", "reindex", "--db", contest_db)
    assert reindexed.code == 0, reindexed.stderr
    assert "3 submissions, 3 entrants, 2 on the board, 0 pending" in reindexed.text
    assert json.loads(cli("contest", "board", "--db", contest_db, "--json").text) == data


def test_disqualify_and_rejudge(contest_db: str, dockerd: Dockerd) -> None:
    env = {"DOCKER_HOST": dockerd.url}
    assert cli("contest", "watch", "--db", contest_db, "--once", environ=env).code == 0
    amy = json.loads(cli("contest", "history", "--db", contest_db, "amy", "--json").text)[0]
    out = cli(
        "contest", "disqualify", "--db", contest_db, amy["digest"][:19], "--reason", "copied from the post"
    )
    assert out.code == 0 and "disqualified 1 submission" in out.text
    board = json.loads(cli("contest", "board", "--db", contest_db, "--json").text)
    assert [r["entrant"] for r in board["board"]] == ["bob"]
    preview = cli("contest", "rejudge", "--db", contest_db, "--all", "--preview", environ=env)
    assert preview.code == 0, preview.stderr
    assert "ACCEPTED → ACCEPTED" in preview.text and "preview only" in preview.text
    applied = cli(
        "contest", "rejudge", "--db", contest_db, str(amy["id"]), "--apply", "--actor", "judge-2", environ=env
    )
    assert applied.code == 0 and "1 rejudged event(s) recorded by judge-2" in applied.text
    again = json.loads(cli("contest", "history", "--db", contest_db, "amy", "--json").text)[0]
    assert again["status"] == "DISQUALIFIED"  # a re-judge does not lift a disqualification


def test_errors_are_clear(tmp_path: object, db_url: str) -> None:
    none = cli("contest", "board", "--db", db_url)
    assert none.code == 2 and "holds no contest" in none.stderr and "contest init" in none.stderr
    bad = cli("contest", "init", "--db", db_url, "--repository", "127.0.0.1:5000/c:tag")
    assert bad.code == 2 and "without a tag" in bad.stderr
    wrong_metric = cli("contest", "init", "--db", db_url, "--repository", "127.0.0.1:5000/c", "--metric", "x")
    assert wrong_metric.code == 2 and "metric 'x': give one of" in wrong_metric.stderr
    assert cli("contest", "init", "--db", db_url, "--repository", "127.0.0.1:5000/c").code == 0
    twice = cli("contest", "init", "--db", db_url, "--repository", "127.0.0.1:5000/c")
    assert twice.code == 2 and "already exists" in twice.stderr
    unknown = cli("contest", "history", "--db", db_url, "nobody")
    assert unknown.code == 2 and "no submission" in unknown.stderr
    for outcome in (none, bad, wrong_metric, twice, unknown):
        assert "Traceback" not in outcome.stderr
