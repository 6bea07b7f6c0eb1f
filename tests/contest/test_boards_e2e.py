"""Three boards of one contest, with images really built, pushed to a real docker-registry, judged by
the contest's workers on the private dockerd, and ranked on every board (SQLite and PostgreSQL):

- amy: ``imagegolf build`` — the message in the program's files (71 B);
- bob: ``imagegolf build --mode argv`` — the phrase in the image's CMD (50 B);
- cat: busybox ``sh -c 'echo …; exit 3'`` — prints the phrase and exits 3.

The default boards: classic (the message from the files only, exit 0) ranks amy; open (anywhere,
any exit status) ranks bob, amy, cat; pull (pull_bytes, anywhere, exit 0) ranks amy, then bob: the
argv image is smaller unpacked, but its config carries the phrase, and a pull moves the config.
cat is accepted on open only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegolf.contest import Contest, board, create_contest, entrant, submission_detail
from imagegolf.contest.board_admin import add_board, make_board
from imagegolf.contest.watch import poll_once
from imagegolf.db import Database
from imagegolf.engine import Engine
from imagegolf.registry import RegistryClient
from imagegolf.store import read_source
from tests.cli.run_cli import cli
from tests.contest.judging import judge_all
from tests.judge.images import busybox_parts, write_oci_archive
from tests.registry_services import DistributionRegistry

pytestmark = pytest.mark.engine
PHRASE = "hello IDBS engineering"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("boards-e2e")
    out = {"amy": d / "embed.tar", "bob": d / "argv.tar"}
    assert cli("build", PHRASE, "-o", str(out["amy"])).code == 0
    assert cli("build", PHRASE, "--mode", "argv", "-o", str(out["bob"])).code == 0
    out["cat"] = write_oci_archive(d / "exit3.tar", busybox_parts(f"echo {PHRASE}; exit 3"))
    return out


@pytest.fixture
def contest(db: Database, registry_open: DistributionRegistry, request: pytest.FixtureRequest) -> Contest:
    repository = f"{registry_open.host}/boards{abs(hash(request.node.nodeid)) % 10**8}"
    return create_contest(
        db, name="boards", phrase=PHRASE, repository=repository, limits={"runs": 2, "per_entrant_per_hour": 0}
    )


def test_an_argv_image_an_embedded_one_and_an_exit_3_one_land_on_their_boards(
    db: Database,
    contest: Contest,
    client: RegistryClient,
    docker_engine: Engine,
    images: dict[str, Path],
) -> None:
    for who in ("amy", "bob", "cat"):
        client.push_image(contest.repository, read_source(images[who]), who)
        assert [i.note for i in poll_once(db, contest, client)] == ["queued"]
    outcomes = judge_all(db, contest, docker_engine, client)
    # What the judge itself says (the contest's judge: exit 0, the message from anywhere), and
    # the worker's line: the first board's word (classic takes only the files' message).
    said = {o.label.split(":")[0]: (o.verdict, o.status) for o in outcomes}
    assert said == {
        "amy": ("ACCEPTED", "ACCEPTED"),
        "bob": ("ACCEPTED", "REJECTED_IMAGE"),
        "cat": ("RUNTIME_ERROR", "RUNTIME_ERROR"),
    }
    ranked = {
        name: [(r.entrant, r.size) for r in board(db, contest, board=name).rows]
        for name in ("classic", "open", "pull")
    }
    assert ranked["classic"] == [("amy", 71)]
    assert [e for e, _ in ranked["open"]] == ["bob", "amy", "cat"]
    assert ranked["open"][:2] == [("bob", 50), ("amy", 71)]
    assert [e for e, _ in ranked["pull"]] == ["amy", "bob"]
    assert ranked["pull"][0][1] > 71  # every byte a pull moves: manifest, config, layer

    bob = submission_detail(db, contest, entrant(db, contest, "bob").states[0].submission.id)
    assert bob.judgement is not None and bob.judgement.phrase_in == "config"
    on = {p.board.name: p for p in bob.boards}
    classic = on["classic"].state
    assert classic.status == "REJECTED_IMAGE" and "config holds the phrase" in classic.reason
    assert (on["open"].place, on["pull"].place) == (1, 2)

    cat = submission_detail(db, contest, entrant(db, contest, "cat").states[0].submission.id)
    assert cat.judgement is not None and cat.judgement.any_exit is not None
    assert cat.judgement.any_exit.value == "ACCEPTED" and {r.exit_code for r in cat.judgement.runs} == {3}
    assert {p.board.name: p.state.status.value for p in cat.boards} == {
        "classic": "RUNTIME_ERROR",
        "open": "ACCEPTED",
        "pull": "RUNTIME_ERROR",
    }
    opened = next(p for p in cat.boards if p.board.name == "open")
    assert opened.place == 3 and "the exit status (3) does not count on this board" in opened.state.reason

    # A board added afterwards is ranked from the judgements on record, nothing judged again:
    # any exit status, but the message from the files only (cat's `sh -c` holds the phrase).
    add_board(db, contest, make_board("files-any", "docker_classic", message="files", exit="any"), actor="t")
    assert [r.entrant for r in board(db, contest, board="files-any").rows] == ["amy"]
    assert judge_all(db, contest, docker_engine, client) == []
