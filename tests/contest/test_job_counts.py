"""The queue's counters (job_counts, kept by triggers) against counting the jobs themselves.

Random job moves through the real queries — queue, claim (with leases that expire at once or
not), finish, requeue, release, and the bulk UPDATEs an organiser or a bench might run — on two
contests, on SQLite and PostgreSQL; after every move the counters equal a COUNT(*) of the jobs.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegolf.contest import Contest, create_contest
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.clock import now

_names = itertools.count()
OWNERS = ("w1", "w2")

queue = st.tuples(st.just("queue"), st.integers(0, 1), st.sampled_from(["judge", "rejudge"]))
claim = st.tuples(st.just("claim"), st.integers(0, 1), st.sampled_from([0.0, 60.0, 60.0]))
settle = st.tuples(
    st.sampled_from(["finish", "finish", "requeue", "release"]), st.sampled_from(OWNERS), st.integers(0, 5)
)
bulk = st.tuples(st.sampled_from(["all done", "all queued"]), st.integers(0, 1), st.just(""))
moves = st.lists(st.one_of(queue, claim, claim, settle, settle, bulk), min_size=1, max_size=40)


def counted(tx: Transaction, contest_id: int) -> dict[str, int]:
    rows = tx.query(
        "SELECT j.state, COUNT(*) AS n FROM jobs j JOIN submissions s ON s.id = j.submission_id "
        "WHERE s.contest_id = ? AND j.state IN ('queued', 'running') GROUP BY j.state",
        (contest_id,),
    )
    return {"queued": 0, "running": 0} | {r["state"]: int(r["n"]) for r in rows}


def new_contest(db: Database) -> Contest:
    return create_contest(db, name=f"q{next(_names)}", phrase="hello", repository="127.0.0.1:5000/c")


def test_the_counters_equal_the_jobs_counted(db: Database) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(moves)
    def check(sequence: list[tuple[str, object, object]]) -> None:
        contests = (new_contest(db), new_contest(db))
        held: list[tuple[int, str]] = []  # (job id, owner) as claimed

        def move(tx: Transaction, op: str, a: object, b: object) -> None:
            if op == "queue":
                contest = contests[int(str(a))]
                n = tx.one("SELECT COUNT(*) AS n FROM submissions")
                sid = tx.insert(
                    "INSERT INTO submissions (contest_id, entrant, tag, digest, first_seen, via) "
                    "VALUES (?, 'e', ?, ?, ?, 'poll')",
                    (contest.id, f"t{n['n'] if n else 0}", "sha256:" + "0" * 64, now()),
                )
                assert sid is not None
                q.insert_job(tx, sid, now(), kind=str(b))
            elif op == "claim":
                k = int(str(a))  # worker k judges contest k (the database holds earlier runs' jobs too)
                claim = q.claim_job(tx, OWNERS[k], float(str(b)), contests[k].id)
                if claim is not None:
                    held.append((claim.id, OWNERS[k]))
            elif op in ("finish", "requeue", "release") and held:
                job, owner = held.pop(int(str(b)) % len(held))
                if op == "finish":
                    q.finish_job(tx, job, owner)
                elif op == "requeue":
                    q.requeue_job(tx, job, owner, now())
                else:
                    q.release_job(tx, job, owner)
            elif op in ("all done", "all queued"):
                state = "done" if op == "all done" else "queued"
                tx.execute(
                    f"UPDATE jobs SET state = '{state}', lease_owner = NULL, lease_expires = NULL "
                    "WHERE submission_id IN (SELECT id FROM submissions WHERE contest_id = ?)",
                    (contests[int(str(a))].id,),
                )

        # Every run starts with jobs queued on both contests and one of them running.
        start = [("queue", 0, "judge"), ("queue", 1, "judge"), ("queue", 0, "rejudge"), ("claim", 0, 60.0)]
        for op, a, b in [*start, *sequence]:
            db.run(lambda tx, op=op, a=a, b=b: move(tx, op, a, b))  # type: ignore[misc]
            for contest in contests:
                kept = db.run(lambda tx, c=contest: q.queue_counts(tx, c.id), write=False)  # type: ignore[misc]
                assert kept == db.run(lambda tx, c=contest: counted(tx, c.id), write=False)  # type: ignore[misc]

    check()
