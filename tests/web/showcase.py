"""A realistic contest for the phone tests and the screenshots: the seed's ladder of techniques,
judged, plus everything that makes a page wide (a 128-character tag, long reasons, stderr and
notes with no space to break at, a 209-column explain view of a real ELF, an index digest).

It has the three default boards (docs/contest.md, "Boards"), and the judge's facts they read: as
in the demo, pjones's argv image (50 B, the phrase in its CMD) ranks on open and pull but not on
classic, where dave's 71 B leads; dave golfs down in three steps (8,344 B, 412 B, 71 B), so his
page and the leaders' progress have lines that step down.

Written through the real API like tests/web/seed.py; every time is pinned, so a page renders the
same bytes every time (the screenshot in docs/ is reproducible).
"""

from __future__ import annotations

from typing import Any

from imagegolf.contest import Contest, disqualify
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind, SubmissionRow
from imagegolf.elf import x86_32
from imagegolf.elf.annotate import annotate
from tests.web import seed

REPOSITORY = "registry.idbs-engineering.example:5000/golf/hello-idbs-engineering"
LONG_TAG = "a-very-long-tag-" + "x" * 100 + "-end-of-tag1"  # 128 characters: the longest tag there is
assert len(LONG_TAG) == 128
WORD = "no-space-to-break-at-" * 12  # one 252-character word


def judge(db: Database, contest: Contest, submission_id: int, data: dict[str, Any], minutes: float) -> None:
    """Append the worker's ``judged`` event with ``data`` at a pinned time and mark the job done (as
    seed.judge does)."""
    row = _submission(db, submission_id)

    def write(tx: Transaction) -> None:
        q.append_event(
            tx,
            contest.id,
            EventKind.JUDGED,
            "worker:testhost:1:0",
            data,
            submission_id=submission_id,
            digest=str(row.digest),
            at=seed.at(minutes),
        )
        tx.execute("UPDATE jobs SET state = 'done' WHERE submission_id = ?", (submission_id,))

    db.run(write)


def _submission(db: Database, submission_id: int) -> SubmissionRow:
    row = db.run(lambda tx: q.submission(tx, submission_id), write=False)
    assert row is not None
    return row


def _data(row_digest: object, verdict: str, size: int | None, **details: Any) -> dict[str, Any]:
    return seed.judged_data(verdict, size, manifest=str(row_digest), **details)


def populate(db: Database, *, stress: bool = True) -> tuple[Contest, dict[str, int]]:
    """The contest and its submissions' ids by name; ``stress=False`` leaves out the entrant with the
    128-character tag and the one with 101 submissions (the board as it usually looks)."""
    contest = seed.make_contest(
        db,
        name="idbs-hello",
        repository=REPOSITORY,
        entrant_map={LONG_TAG: "Long-Named Entrant", "rs-final": "reschenburg"},
    )
    ladder = [  # name, tag, image, minutes, size
        ("reschenburg", "reschenburg", "distro-echo", 1, 74_492_693),
        ("pjones", "pjones", "static-go", 2, 1_982_256),
        ("alice", "alice", "busybox", 3, 435_260),
        ("carol", "carol", "musl-c", 4, 266_832),
        ("bob", "bob", "static-c", 5, 17_808),
        ("reschenburg_asm", "rs-final", "asm-elf32-ld", 6, 288),
        ("dave_c", "dave", "tiny-static-c", 6.2, 8_344),
        ("dave_asm", "dave", "tiny-asm", 6.6, 412),
        ("dave", "dave", "teensy", 7, 71),
        ("pjones_argv", "pjones", "teensy-argv", 9, 50),
        ("long", LONG_TAG, "long-tag-image", 10, 4_096),
    ]
    if not stress:
        ladder.pop()
    ids: dict[str, int] = {}
    for name, tag, image, minutes, _ in ladder:
        ids[name] = seed.push(db, contest, tag, image, minutes=minutes)
    ids["carol_dup"] = seed.push(db, contest, "carol", "teensy", minutes=8)
    ids["erin"] = seed.push(db, contest, "erin", "dynamic-echo", minutes=11)
    ids["mallory"] = seed.push(db, contest, "mallory", "pending", minutes=12)

    message = seed.PHRASE.encode() + b"\n"
    explain = annotate(x86_32.embed(message), message=message)
    for name, _, _, minutes, size in ladder:
        row = _submission(db, ids[name])
        # The facts boards read: every one exits 0; the argv image's phrase is in its config.
        phrase_in = "config" if name == "pjones_argv" else None
        data = _data(row.digest, "ACCEPTED", size, any_exit="ACCEPTED", phrase_in=phrase_in)
        if size < 300:
            data["entry"] = {"path": "/a", "size": size, "explain": explain}
        if name == "long":
            data["index_digest"] = seed.digest("an index of two platforms")
            data["chosen"] = "linux/386 (the first of linux/amd64, linux/386 it holds)"
            data["layers"][0]["media_type"] = "application/vnd.docker.image.rootfs.diff.tar.gzip+" + WORD
            data["notes"] = [f"a note with a long word: {WORD}", f"registry: {REPOSITORY}@{row.digest}"]
            for run in data["runs"]:
                run["stderr"] = WORD
        judge(db, contest, ids[name], data, minutes + 0.5)

    dup = _submission(db, ids["carol_dup"])
    judge(
        db,
        contest,
        ids["carol_dup"],
        _data(
            dup.digest,
            "REJECTED_IMAGE",
            71,
            reason="duplicate: its manifest equals dave's earlier accepted submission "
            f"(tag dave, {dup.digest})",
        ),
        10.8,
    )
    erin = _submission(db, ids["erin"])
    judge(
        db,
        contest,
        ids["erin"],
        _data(
            erin.digest,
            "START_FAILED",
            43_856,
            stdout="",
            stderr="exec /echo: no such file or directory: " + "/lib/ld-musl-x86_64.so.1" * 8,
            reason="run 1 of 3: the command /echo is dynamically linked: it needs the program interpreter "
            "/lib/ld-musl-x86_64.so.1, which the image does not have",
        ),
        11.5,
    )
    if stress:  # more than a page of history and of events: the pages' "older / next" links
        for n in range(101):
            seed.push(db, contest, "spammer", f"spam-{n}", minutes=13 + n / 100)
    why = "copied an earlier image byte for byte: " + WORD
    disqualify(db, contest, str(ids["alice"]), why, actor="admin@127.0.0.1")
    return contest, ids
