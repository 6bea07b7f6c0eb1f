"""Pushes to a real docker-registry become submissions, judged in a real engine, ranked.

Every test runs on SQLite and PostgreSQL (``db`` fixture) with podman through the engine API.
"""

from __future__ import annotations

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.contest import Contest, SubmissionDetail, create_contest, entrant, snapshot, submission_detail
from imagegolf.contest.watch import poll_once
from imagegolf.db import Database
from imagegolf.digest import Digest
from imagegolf.engine import Engine
from imagegolf.oci import Image
from imagegolf.platform import DEFAULT
from imagegolf.registry import RegistryClient
from tests.contest.judging import judge_all
from tests.registry_services import DistributionRegistry

PHRASE = "hello IDBS engineering"


def image(text: str) -> Image:
    return program_image(text.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]


@pytest.fixture
def contest(db: Database, registry_open: DistributionRegistry, request: pytest.FixtureRequest) -> Contest:
    repository = f"{registry_open.host}/c{abs(hash(request.node.nodeid)) % 10**8}"
    return create_contest(
        db, name="t", phrase=PHRASE, repository=repository, limits={"runs": 1, "per_entrant_per_hour": 0}
    )


def push(client: RegistryClient, contest: Contest, tag: str, text: str) -> str:
    return str(client.push_image(contest.repository, image(text), tag).digest)


def detail(db: Database, contest: Contest, name: str) -> SubmissionDetail:
    """The first submission of entrant ``name``, with its whole judgement."""
    return submission_detail(db, contest, entrant(db, contest, name).states[0].submission.id)


def test_pushed_tags_reach_the_board_with_verdicts_order_and_tie_break(
    db: Database, contest: Contest, client: RegistryClient, podman_engine: Engine
) -> None:
    # Polled after each push, as a watcher would: the first-seen times follow the pushes.
    for tag, text in (
        ("amy", f"{PHRASE}!"),  # 72 B
        ("bob", f"{PHRASE}?"),  # 72 B, reached later: ranked after amy
        ("cat", "goodbye"),  # WRONG_OUTPUT
        ("dan", PHRASE),  # 71 B: the record
    ):
        push(client, contest, tag, text)
        assert [i.note for i in poll_once(db, contest, client)] == ["queued"]
    outcomes = judge_all(db, contest, podman_engine, client)
    assert sorted(o.verdict or "" for o in outcomes) == ["ACCEPTED"] * 3 + ["WRONG_OUTPUT"]
    standings = snapshot(db, contest).standings
    assert [(r.place, r.entrant, r.size) for r in standings.board] == [
        (1, "dan", 71),
        (2, "amy", 72),
        (3, "bob", 72),
    ]
    assert standings.unranked == ("cat",)
    assert [(p.entrant, p.size) for p in standings.records] == [("amy", 72), ("dan", 71)]
    cat = detail(db, contest, "cat")
    assert cat.state.status == "WRONG_OUTPUT" and cat.judgement is not None
    assert cat.judgement.runs[0].stdout == "goodbye\n"
    dan = detail(db, contest, "dan").judgement
    assert dan is not None and dan.entry is not None
    assert dan.entry["path"] == "/a" and "e_machine" in dan.entry["explain"]
    assert str(dan.layers[0].digest).startswith("sha256:") and dan.metric("docker_classic") == 71


def test_a_repushed_tag_is_a_new_submission_and_a_moved_tag_never_changes_a_judged_result(
    db: Database, contest: Contest, client: RegistryClient, podman_engine: Engine
) -> None:
    good = push(client, contest, "amy", PHRASE)
    poll_once(db, contest, client)  # pinned: amy → good
    bad = push(client, contest, "amy", "oops")  # the tag moves before the judge got to it
    judge_all(db, contest, podman_engine, client)
    (first,) = entrant(db, contest, "amy").states
    assert str(first.submission.digest) == good and first.status == "ACCEPTED"  # the pinned digest was judged
    assert [i.digest for i in poll_once(db, contest, client)] == [bad]  # the move is a new submission
    judge_all(db, contest, podman_engine, client)
    states = entrant(db, contest, "amy").states
    found = [(str(s.submission.digest), s.status) for s in states]
    assert found == [(good, "ACCEPTED"), (bad, "WRONG_OUTPUT")]
    assert snapshot(db, contest).standings.board[0].best.submission.digest == Digest.parse(good)
    push(client, contest, "amy", PHRASE)  # back to a digest it held: not a new submission
    assert [i.note for i in poll_once(db, contest, client)] == ["already submitted"]


def test_a_digest_already_judged_is_not_judged_again(
    db: Database, contest: Contest, client: RegistryClient, podman_engine: Engine
) -> None:
    versions = create_contest(
        db,
        name="versions",
        phrase=PHRASE,
        repository=contest.watched,
        entrant_pattern=r"(?P<entrant>[a-z]+)(-v\d+)?",
        limits={"runs": 1},
    )
    digest = push(client, versions, "amy", PHRASE)
    poll_once(db, versions, client)
    judge_all(db, versions, podman_engine, client)
    assert push(client, versions, "amy-v2", PHRASE) == digest
    poll_once(db, versions, client)
    outcomes = judge_all(db, versions, podman_engine, client)
    assert [o.action for o in outcomes] == ["reused"]
    first, second = entrant(db, versions, "amy").states  # the pattern maps amy-v2 to amy
    assert second.submission.tag == "amy-v2" and second.status == "ACCEPTED"
    judgement = submission_detail(db, versions, second.submission.id).judgement
    assert judgement is not None and judgement.reused_from == first.submission.id


def test_a_copy_is_rejected_duplicate_in_the_watchers_lines_as_on_the_board(
    db: Database, contest: Contest, client: RegistryClient, podman_engine: Engine
) -> None:
    """One word for one state: `contest watch` logs a copy as the board shows it."""
    from imagegolf.cli.contest_judging import describe as _describe

    push(client, contest, "amy", PHRASE)
    poll_once(db, contest, client)
    push(client, contest, "bob", PHRASE)  # the same image, later: bob copies amy
    poll_once(db, contest, client)
    lines = sorted(_describe(o) for o in judge_all(db, contest, podman_engine, client))
    bob = entrant(db, contest, "bob").states[0]
    assert bob.label == "REJECTED (duplicate)"
    amy = entrant(db, contest, "amy").states[0].submission.id
    assert lines[0].startswith(f"submission #{amy}: ACCEPTED judged — amy:amy")
    assert lines[1].startswith(
        f"submission #{bob.submission.id}: REJECTED (duplicate) judged before (same digest)"
    )
