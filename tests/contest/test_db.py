"""The storage on SQLite and PostgreSQL alike: migrations, append-only events, leases."""

from __future__ import annotations

import threading
import time

import pytest

from imagegolf.contest import Contest, create_contest, record_push
from imagegolf.db import Database, open_database
from imagegolf.db import queries as q
from imagegolf.db.schema import LATEST
from imagegolf.errors import ImagegolfError

DIGEST = "sha256:" + "ab" * 32


def _contest(db: Database) -> Contest:
    return create_contest(
        db, name="t", phrase="hello", repository="127.0.0.1:5000/c", limits={"per_entrant_per_hour": 0}
    )


def test_migrations_are_recorded_and_idempotent(db_url: str) -> None:
    for _ in range(2):
        with open_database(db_url) as db:
            rows = db.run(lambda tx: tx.query("SELECT version FROM schema_migrations"), write=False)
            assert [r["version"] for r in rows] == list(range(1, LATEST + 1))


def test_events_are_append_only(db: Database) -> None:
    cid = _contest(db).id
    for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            db.run(lambda tx, s=statement: tx.execute(s))  # type: ignore[misc]
    assert db.run(lambda tx: q.events(tx, cid), write=False)[0].actor == "admin"


def test_a_tag_and_digest_is_one_submission_however_often_seen(db: Database) -> None:
    contest = _contest(db)
    first = record_push(db, contest, "amy", DIGEST, via="hook")
    again = record_push(db, contest, "amy", DIGEST, via="poll")
    other_tag = record_push(db, contest, "amy-2", DIGEST, via="poll")
    assert first.submission_id and again.submission_id is None and other_tag.submission_id
    assert db.run(lambda tx: q.queue_counts(tx), write=False) == {"queued": 2, "running": 0}


def test_a_job_is_leased_to_one_worker_and_reclaimed_after_its_lease(db: Database) -> None:
    contest = _contest(db)
    record_push(db, contest, "amy", DIGEST, via="poll")
    first = db.run(lambda tx: q.claim_job(tx, "w1", 0.5))
    assert first is not None and first.attempts == 1
    assert db.run(lambda tx: q.claim_job(tx, "w2", 0.5)) is None  # held
    time.sleep(0.6)
    second = db.run(lambda tx: q.claim_job(tx, "w2", 30))
    assert second is not None and second.id == first.id and second.attempts == 2
    assert not db.run(lambda tx: q.finish_job(tx, first.id, "w1"))  # w1 lost it: its result is refused
    assert db.run(lambda tx: q.finish_job(tx, second.id, "w2"))
    assert db.run(lambda tx: q.claim_job(tx, "w3", 30)) is None


def test_concurrent_claimers_never_share_a_job(db_url: str) -> None:
    with open_database(db_url) as db:
        contest = _contest(db)
        for n in range(40):
            record_push(db, contest, f"e{n}", f"sha256:{n:064x}", via="poll")
    claimed: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        with open_database(db_url) as own:
            mine = claimed.setdefault(name, [])
            while (job := own.run(lambda tx: q.claim_job(tx, name, 60))) is not None:
                mine.append(job.id)
                assert own.run(lambda tx, j=job.id: q.finish_job(tx, j, name))  # type: ignore[misc]

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = sorted(j for jobs in claimed.values() for j in jobs)
    assert every == sorted(set(every)) and len(every) == 40


def test_a_bad_database_url_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(ImagegolfError, match="unsupported database"):
        open_database("mysql://x@127.0.0.1/db")
    with pytest.raises(ImagegolfError, match="does not exist"):
        open_database("/nonexistent/dir/contest.db")


def test_submissions_over_the_hourly_limit_wait_their_turn(db: Database) -> None:
    contest = create_contest(
        db,
        name="limited",
        phrase="hello",
        repository="127.0.0.1:5000/c",
        limits={"per_entrant_per_hour": 2},
        entrant_pattern=r"(?P<entrant>[a-z]+)(-\d+)?",
    )
    notes = [record_push(db, contest, f"amy-{n}", f"sha256:{n:064x}", via="hook").note for n in range(3)]
    assert notes[:2] == ["queued", "queued"] and notes[2].startswith("queued, rate-limited until ")
    assert record_push(db, contest, "bob", "sha256:" + "f" * 64, via="hook").note == "queued"  # per entrant
    claimed = []
    while (job := db.run(lambda tx: q.claim_job(tx, "w", 60))) is not None:
        claimed.append(job.submission_id)
    assert len(claimed) == 3  # amy's third waits an hour; nothing is dropped
    events = db.run(lambda tx: q.events(tx, contest.id, kinds=("rate_limited",)), write=False)
    assert len(events) == 1 and events[0].data["limit"] == 2


def test_a_push_outside_the_window_is_recorded_not_judged(db: Database) -> None:
    contest = create_contest(
        db,
        name="over",
        phrase="hello",
        repository="127.0.0.1:5000/c",
        starts_at="2020-01-01T00:00:00Z",
        ends_at="2020-02-01T00:00:00Z",
    )
    intake = record_push(db, contest, "amy", DIGEST, via="poll")
    assert intake.submission_id and intake.note.startswith("not judged: seen at")
    assert db.run(lambda tx: q.claim_job(tx, "w", 60)) is None
