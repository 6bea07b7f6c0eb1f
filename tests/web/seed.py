"""Contest data for the web tests, written through the real API: create_contest, record_push, and
``judged`` events appended in the worker's documented format (docs/contest.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from imagegolf.contest import Contest, create_contest, derived, record_push
from imagegolf.db import Database, Transaction
from imagegolf.db import queries as q
from imagegolf.db.clock import format_time
from imagegolf.db.records import EventKind

REPOSITORY = "127.0.0.1:5000/contest"
PHRASE = "hello IDBS engineering"
T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
XSS = "<script>alert(1)</script>"


def at(minutes: float) -> str:
    """A pinned time, ``minutes`` after T0, as stored: ties are broken on first-seen times."""
    return format_time(moment(minutes))


def moment(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def make_contest(db: Database, name: str = "golf", **rules: Any) -> Contest:
    rules.setdefault("limits", {"per_entrant_per_hour": 100})
    rules.setdefault("repository", REPOSITORY)
    return create_contest(db, name=name, phrase=PHRASE, **rules)


def push(db: Database, contest: Contest, tag: str, image: str | None = None, minutes: float = 0.0) -> int:
    """Record a push of ``tag`` (image: a name whose hash is the digest); the new submission's id."""
    intake = record_push(db, contest, tag, digest(image or tag), via="poll", at=at(minutes))
    assert intake.submission_id is not None, intake.note
    return intake.submission_id


def metrics(size: int) -> dict[str, int]:
    return {
        "docker_classic": size,
        "containerd_content": size + 550,
        "podman": size + 1161,
        "registry_compressed": size + 33,
        "pull_bytes": size + 550,
    }


def judged_data(
    verdict: str = "ACCEPTED",
    size: int | None = 73,
    *,
    manifest: str,
    layer: str | None = None,
    stdout: str = PHRASE + "\n",
    stderr: str = "",
    reason: str | None = None,
    notes: tuple[str, ...] = (),
    job: int = 1,
    reused_from: int | None = None,
    sizes: dict[str, int] | None = None,
    exit_code: int | None = None,
    any_exit: str | None = None,
    phrase_in: str | None = None,
) -> dict[str, Any]:
    """``sizes``: some metrics given one by one (two metrics may then rank differently).
    ``exit_code``: each run's (default 0 if accepted, else 1); ``any_exit`` and ``phrase_in``:
    the judge's facts for boards (the verdict had the exit status been free; the metadata
    document that holds the phrase), left out by default as the judge wrote before it kept them."""
    ok = verdict == "ACCEPTED"
    facts = {k: v for k, v in (("any_exit", any_exit), ("phrase_in", phrase_in)) if v is not None}
    return {
        **facts,
        "verdict": verdict,
        "reason": reason
        or ("all 3 runs exited 0 with stdout that contains the phrase" if ok else "it failed"),
        "metrics": {**metrics(size), **(sizes or {})} if size is not None else None,
        "platform": "linux/386",
        "manifest_digest": manifest,
        "config_digest": digest(f"config of {manifest}"),
        "layers": [
            {
                "digest": layer or digest(f"layer of {manifest}"),
                "size": (size or 0) + 33,
                "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
                "diff_id": digest(f"diff of {manifest}"),
            }
        ],
        "runs": [
            {
                "exit_code": exit_code if exit_code is not None else (0 if ok else 1),
                "stdout": stdout,
                "stderr": stderr,
                "wall_ms": 120 + i,
                "stdout_truncated": False,
            }
            for i in range(3)
        ],
        "notes": list(notes),
        "entry": {
            "path": "/a",
            "size": size or 0,
            "explain": "00000000  7f 45 4c 46  e_ident[EI_MAG]  \\x7fELF\n00000004  ...  <not a tag>",
        },
        "job": job,
        "attempt": 1,
        "worker": "testhost:1:0",
        "reused_from": reused_from,
    }


def judge(
    db: Database,
    contest: Contest,
    submission_id: int,
    verdict: str = "ACCEPTED",
    size: int | None = 73,
    *,
    kind: str = "judged",
    **details: Any,
) -> int:
    """Append the worker's ``judged`` event for a submission and mark its job done; the event id."""
    row = db.run(lambda tx: q.submission(tx, submission_id), write=False)
    assert row is not None
    data = judged_data(verdict, size, manifest=str(row.digest), **details)

    def write(tx: Transaction) -> int:
        # derived.record: the event, and the standings it changes, in one transaction (as the worker).
        event_id = derived.record(tx, contest, EventKind(kind), "worker:testhost:1:0", data, submission=row)
        # The worker's lease bookkeeping is not what these tests are about: the job is simply done.
        tx.execute("UPDATE jobs SET state = 'done' WHERE submission_id = ?", (submission_id,))
        return event_id

    return db.run(write)


EXIT_3 = "run 1 of 3: it exited with status 3 after printing the phrase: a program must exit 0"


def judge_three_kinds(db: Database, contest: Contest, minutes: float = 0.0) -> dict[str, int]:
    """Three images as the judge records them, for boards: amy's message is in its files (71 B);
    bob's phrase is in its CMD (50 B, ``imagegolf build --mode argv``: ``phrase_in`` config); cat's
    ``sh -c 'echo …; exit 3'`` prints the phrase and exits 3 (RUNTIME_ERROR, ``any_exit``
    ACCEPTED; its command holds the phrase too). With the default boards: classic ranks amy; open
    bob, amy, cat; pull bob, amy."""
    ids = {
        "amy": push(db, contest, "amy", minutes=minutes + 1),
        "bob": push(db, contest, "bob", minutes=minutes + 2),
        "cat": push(db, contest, "cat", minutes=minutes + 3),
    }
    judge(db, contest, ids["amy"], size=71, any_exit="ACCEPTED")
    judge(db, contest, ids["bob"], size=50, any_exit="ACCEPTED", phrase_in="config")
    judge(
        db, contest, ids["cat"], "RUNTIME_ERROR", 1_000_000,
        reason=EXIT_3, exit_code=3, any_exit="ACCEPTED", phrase_in="config",
    )  # fmt: skip
    return ids
