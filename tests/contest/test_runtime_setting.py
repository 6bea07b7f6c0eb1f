"""The contest's runtime (runc, or runsc: gVisor): set by `contest init --runtime`, changed by
`contest set --runtime` (one settings_changed event, applies to what is judged next), given to the
judge by ``judge_options``, and recorded in every judgement (``runtime``, "runc" for judgements
recorded before the setting existed)."""

from __future__ import annotations

import json

import pytest

from imagegolf.contest import derived
from imagegolf.contest.judging import event_data, judge_options
from imagegolf.contest.reads import open_contest
from imagegolf.contest.settings import apply_settings, settings_of
from imagegolf.db import Database
from imagegolf.db import queries as q
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError
from imagegolf.judge import Judgement, Verdict
from imagegolf.judge.judged import JudgedData
from tests.cli.run_cli import cli
from tests.web import seed


def test_the_runtime_is_a_judging_setting(db: Database) -> None:
    contest = seed.make_contest(db)
    assert contest.limits["runtime"] == "runc" and judge_options(contest).spec.runtime == "runc"
    change = apply_settings(db, contest, {"runtime": "runsc"}, actor="admin")
    assert change.changes == {"runtime": ["runc", "runsc"]}
    assert judge_options(change.contest).spec.runtime == "runsc"
    assert settings_of(open_contest(db, contest.name))["runtime"] == "runsc"
    with pytest.raises(UsageError, match=r"runtime 'kata': give runc .* or runsc"):
        apply_settings(db, change.contest, {"runtime": "kata"}, actor="admin")
    with pytest.raises(UsageError, match="runtime: give runc or runsc"):
        apply_settings(db, change.contest, {"runtime": 1}, actor="admin")


def test_contest_init_and_set_take_the_runtime(db_url: str, db: Database) -> None:
    bad = cli("contest", "init", "--db", db_url, "--repository", seed.REPOSITORY, "--runtime", "kata")
    assert bad.code == 2 and "--runtime 'kata'" in bad.stderr and "Traceback" not in bad.stderr
    made = cli("contest", "init", "--db", db_url, "--name", "golf", "--repository", seed.REPOSITORY,
               "--runtime", "runsc")  # fmt: skip
    assert made.code == 0, made.stderr
    assert open_contest(db, "golf").limits["runtime"] == "runsc"
    changed = cli("contest", "set", "--db", db_url, "--runtime", "runc")
    assert changed.code == 0, changed.stderr
    assert "runtime: runsc → runc" in changed.text and "judged next" in changed.text
    assert open_contest(db, "golf").limits["runtime"] == "runc"
    wrong = cli("contest", "set", "--db", db_url, "--runtime", "gvisor")
    assert wrong.code == 2 and "runtime 'gvisor'" in wrong.stderr


def test_every_judgement_records_its_runtime(db: Database) -> None:
    old = JudgedData.from_json({"verdict": "ACCEPTED", "reason": "r"})
    assert old.runtime == "runc" and old.to_json()["runtime"] == "runc"  # recorded before the setting
    assert JudgedData.from_json({**old.to_json(), "runtime": "runsc"}).runtime == "runsc"
    contest = seed.make_contest(db)
    judged = event_data(Judgement("x", Verdict.START_FAILED, "gVisor…", runtime="runsc"), None, contest)
    assert judged.runtime == "runsc" and judged.to_json()["runtime"] == "runsc"


def test_the_submission_page_and_api_show_the_runtime(db: Database) -> None:
    from tests.web.conftest import client_for

    contest = seed.make_contest(db)
    gvisor, plain = seed.push(db, contest, "amy", minutes=1), seed.push(db, contest, "bob", minutes=2)
    for sid, extra in ((gvisor, {"runtime": "runsc"}), (plain, {})):  # plain: recorded before the setting
        row = db.run(lambda tx, sid=sid: q.submission(tx, sid), write=False)
        assert row is not None
        data = {**seed.judged_data(manifest=str(row.digest)), **extra}
        db.run(
            lambda tx, row=row, data=data: derived.record(
                tx, contest, EventKind.JUDGED, "w", data, submission=row
            )
        )
    with client_for(db) as client:
        assert "<dt>runtime</dt><dd>runsc (gVisor)</dd>" in client.get(f"/submissions/{gvisor}").text
        assert "<dt>runtime</dt><dd>runc</dd>" in client.get(f"/submissions/{plain}").text
        answer = client.get(f"/api/submissions/{gvisor}").json()
        assert '"runtime": "runsc"' in json.dumps(answer)
