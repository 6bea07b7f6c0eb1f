"""The scoreboard freeze on the site: the public board, its fragment, the API, the timeline, the
entrants' pages, the events and the exports stop moving; the organiser (admin token) and each
submission's own page see the real results; unfreezing or the end shows the final board. And the
words the public pages use for each state."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from imagegolf.contest import Contest
from imagegolf.contest.settings import change_settings
from imagegolf.db import Database
from imagegolf.web.site import Site
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN, TestClient, client_for

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FREEZE = 3.5  # minutes after the seed's T0: bob_big, alice and bob_tie before; the rest after


def site_of(client: TestClient) -> Site:
    site: Site = client.app.state.site  # type: ignore[attr-defined]
    return site


@pytest.fixture
def frozen(db: Database, contest: Contest, field: dict[str, int]) -> Iterator[TestClient]:
    """The web tests' field, frozen at T0+3.5 min, and erin's 50-byte record pushed after it."""
    change_settings(db, contest, {"freeze_at": seed.at(FREEZE)}, actor="admin")
    field["erin"] = seed.push(db, contest, "erin", minutes=10)
    seed.judge(db, contest, field["erin"], size=50)
    with client_for(db, admin_token=ADMIN_TOKEN) as client:
        yield client


def entrants(board: dict[str, object]) -> list[tuple[str, int]]:
    return [(r["entrant"], r["size"]) for r in board["board"]]  # type: ignore[index, union-attr]


def test_the_public_board_stops_moving_and_the_organiser_sees_the_real_one(
    frozen: TestClient, field: dict[str, int]
) -> None:
    public = frozen.get("/api/board")
    assert public.json()["frozen"] is True
    assert entrants(public.json()) == [("alice", 73), ("bob", 73)]  # erin's 50 B is hidden
    hidden = {u["entrant"]: u for u in public.json()["unranked_latest"]}
    assert hidden["erin"]["status"] == "FROZEN" and "hidden until the end" in hidden["erin"]["reason"]
    real = frozen.get("/api/board", headers=AUTH)
    assert real.json()["frozen"] is False
    assert entrants(real.json()) == [("erin", 50), ("alice", 73), ("bob", 73)]
    assert public.headers["etag"] != real.headers["etag"]
    wrong = frozen.get("/api/board", headers={"Authorization": "Bearer nope"})  # the public's view
    assert entrants(wrong.json()) == [("alice", 73), ("bob", 73)]
    # The page and its live fragment show the frozen board too, and say so.
    html = frozen.get("/").text
    board = html.split('class="leaderboard"')[1].split("</table>")[0]
    assert ">erin<" not in board and ">alice<" in board
    assert "The board is frozen" in html and "2026-05-01 09:03:30 UTC" in html
    unranked = html.split('class="unranked"')[1].split("</ul>")[0]
    assert "erin" in unranked and "frozen: result hidden until the end" in unranked
    fragment = frozen.get("/fragments/board")
    assert (
        fragment.headers["x-imagegolf-etag"].endswith("-frozen.1") and "The board is frozen" in fragment.text
    )


def test_every_public_read_is_frozen_but_the_submissions_own_page(
    frozen: TestClient, field: dict[str, int]
) -> None:
    erin = field["erin"]
    # Its own page (and its JSON) show the real result.
    own = frozen.get(f"/api/submissions/{erin}").json()
    assert (own["status"], own["size"]) == ("ACCEPTED", 50)
    assert "ACCEPTED" in frozen.get(f"/submissions/{erin}").text
    # Everything else: pending, no size, no verdict.
    timeline = frozen.get("/api/timeline").json()["records"]
    assert [(r["entrant"], r["size"]) for r in timeline] == [("bob", 5000), ("alice", 73)]
    assert "erin" not in frozen.get("/timeline").text.split('class="records"')[1]
    person = frozen.get("/api/entrants/erin").json()
    assert person["place"] is None and person["submissions"][0]["status"] == "FROZEN"
    assert person["submissions"][0]["size"] is None and person["submissions"][0]["verdict"] is None
    assert "FROZEN" in frozen.get("/entrants/erin").text
    rows = {r["id"]: r for r in frozen.get("/api/submissions").json()["submissions"]}
    assert rows[erin]["status"] == "FROZEN" and rows[field["alice"]]["status"] == "ACCEPTED"
    exported = frozen.get("/api/export.json").json()
    assert [r["entrant"] for r in exported["board"]] == ["alice", "bob"]
    assert "FROZEN" in frozen.get("/api/export.csv").text
    organiser = frozen.get("/api/export.json", headers=AUTH).json()
    assert [r["entrant"] for r in organiser["board"]] == ["erin", "alice", "bob"]
    judged = [e for e in frozen.get("/api/events").json()["events"] if e["kind"] == "judged"]
    by_submission = {e["submission"]: e["data"] for e in judged}
    assert by_submission[erin] == {"hidden": "frozen: result hidden until the end"}
    assert by_submission[field["alice"]]["verdict"] == "ACCEPTED"  # before the freeze: shown
    events_page = frozen.get("/events").text
    assert "result hidden until the end" in events_page and "50 B" not in events_page
    assert rows[field["carol"]]["status"] == "FROZEN"  # pushed after the freeze: hidden too


def test_a_verdict_arriving_after_the_freeze_for_an_earlier_push_shows(
    db: Database, contest: Contest, field: dict[str, int]
) -> None:
    """dave was pushed before the freeze and judged after it: his result shows on the frozen board."""
    change_settings(db, contest, {"freeze_at": seed.at(8)}, actor="admin")
    late = seed.push(db, contest, "erin", minutes=9)
    seed.judge(db, contest, late, size=40)
    with client_for(db, admin_token=ADMIN_TOKEN) as client:
        before = client.get("/api/board")
        assert entrants(before.json()) == [("alice", 73), ("bob", 73)]
        seed.judge(db, contest, field["dave"], size=60)  # pushed at T0+6, judged now
        after = client.get("/api/board", headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert entrants(after.json()) == [("dave", 60), ("alice", 73), ("bob", 73)]


def test_unfreezing_shows_the_final_board_and_changes_the_etag(
    frozen: TestClient, db: Database, contest: Contest
) -> None:
    held = frozen.get("/fragments/board")
    tag = held.headers["etag"]
    assert frozen.get("/fragments/board", headers={"If-None-Match": tag}).status_code == 304
    refused = frozen.post("/api/admin/unfreeze", json={})
    assert refused.status_code == 401
    done = frozen.post("/api/admin/unfreeze", json={}, headers=AUTH)
    assert done.status_code == 200, done.text
    assert done.json()["actor"] == "admin@testclient" and "unfrozen" in done.json()["state"]
    again = frozen.get("/fragments/board", headers={"If-None-Match": tag})
    assert again.status_code == 200 and "The board is unfrozen" in again.text
    assert entrants(frozen.get("/api/board").json())[0] == ("erin", 50)
    assert frozen.get("/api/board").json()["frozen"] is False
    twice = frozen.post("/api/admin/unfreeze", json={}, headers=AUTH)
    assert twice.status_code == 400 and "not frozen" in twice.json()["error"]


def test_the_end_unfreezes_without_an_event(frozen: TestClient, db: Database, contest: Contest) -> None:
    """The phase is part of the tag: the board changes at the end with no event to say so."""
    change_settings(db, contest, {"ends_at": seed.at(60)}, actor="admin")
    site = site_of(frozen)
    site.clock = lambda: seed.moment(30)  # type: ignore[method-assign]
    during = frozen.get("/api/board")
    assert during.json()["frozen"] is True and frozen.get("/api/version").json()["etag"].endswith("-frozen")
    site.clock = lambda: seed.moment(61)  # type: ignore[method-assign]
    ended = frozen.get("/api/board", headers={"If-None-Match": during.headers["etag"]})
    assert ended.status_code == 200 and ended.json()["frozen"] is False
    assert entrants(ended.json())[0] == ("erin", 50)
    html = frozen.get("/").text
    assert "The contest is over" in html and "The contest ended at" in html
    site.clock = lambda: seed.moment(2)  # type: ignore[method-assign]  # before the freeze
    assert frozen.get("/api/board").json()["frozen"] is False


def test_the_frozen_standings_are_computed_once_per_version(
    frozen: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagegolf.web import site as site_module

    made: list[int] = []
    real = site_module.frozen_view

    def counted(*args: object, **kwargs: object) -> object:
        made.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(site_module, "frozen_view", counted)
    for path in ("/", "/fragments/board", "/api/board", "/api/timeline", "/entrants/alice", "/events"):
        for _ in range(3):
            assert frozen.get(path).status_code == 200
    assert made == [1]


def test_the_countdown_shows_the_times_without_javascript(
    client: TestClient, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    now = dt.datetime.now(dt.UTC)
    freeze, end = now + dt.timedelta(hours=1), now + dt.timedelta(hours=2)
    change_settings(db, contest, {"freeze_at": freeze.isoformat(), "ends_at": end.isoformat()}, actor="a")
    html = client.get("/").text
    countdown = html.split('id="countdown"')[1].split("</p>")[0]
    assert re.search(r'data-now="\d{4}-\d\d-\d\dT', countdown)
    assert "The board freezes at" in countdown and f"{freeze:%Y-%m-%d %H:%M:%S} UTC" in countdown
    assert "The contest ends at" in countdown and f"{end:%Y-%m-%d %H:%M:%S} UTC" in countdown
    assert "/static/countdown.js?v=" in html
    answer = client.get("/fragments/board")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", answer.headers["x-imagegolf-now"])
    unchanged = client.get("/fragments/board", headers={"If-None-Match": answer.headers["etag"]})
    assert unchanged.status_code == 304 and "x-imagegolf-now" in unchanged.headers


def test_the_rules_state_the_freeze_and_the_identity(
    client: TestClient, db: Database, contest: Contest
) -> None:
    html = client.get("/rules").text
    assert "the tag names the entrant: anyone who can push to the repository can submit as any name" in (
        html.lower()
    )
    assert "none: the board shows every result as it comes" in html
    change_settings(db, contest, {"freeze_at": seed.at(30), "identity": "registry-user"}, actor="admin")
    html = client.get("/rules").text
    assert "2026-05-01 09:30:00 UTC" in html and "what is pushed after shows as FROZEN" in html
    assert "the registry account that pushed is the entrant; the tag is only a label" in html.lower()
    assert "NOT_AN_ENTRANT" in html


def test_one_word_for_one_state_on_the_public_pages(client: TestClient, field: dict[str, int]) -> None:
    html = client.get("/").text
    unranked = html.split('class="unranked"')[1].split("</ul>")[0]
    assert "REJECTED (duplicate): its manifest equals alice" in unranked  # mallory
    assert "WRONG_OUTPUT: stdout lacks the phrase" in unranked  # carol
    assert 'dave</bdi></a>: <span class="why">queued</span>' in unranked
    mallory = client.get(f"/submissions/{field['mallory']}").text
    assert (
        '<span class="status s-rejected_image s-duplicate"' in mallory
        and "REJECTED (duplicate)</span>" in mallory
    )
    events = client.get("/events").text
    assert "REJECTED (duplicate): its manifest equals alice" in events
    assert "ACCEPTED: all 3 runs" in events  # alice's own judgement
    entrant = client.get("/entrants/mallory").text
    assert "REJECTED (duplicate)" in entrant
    # No internal words on the public pages.
    for path in ("/", "/events", "/timeline", "/rules", f"/submissions/{field['alice']}", "/entrants/bob"):
        text = client.get(path).text
        visible = re.sub(r"<[^>]+>", " ", text)  # the words shown, not attributes
        for word in ("version", "worker", "lease", "testhost", "job ", "attempt 1", "admin@"):
            assert word not in visible, (path, word)


def test_settings_and_reinstate_from_the_admin_api(
    client: TestClient, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    changed = client.post("/api/admin/settings", json={"runs": 5, "freeze_at": None}, headers=AUTH)
    assert changed.status_code == 200, changed.text
    assert changed.json()["changes"] == {"runs": [3, 5]} and changed.json()["actor"] == "admin@testclient"
    assert any("rejudge" in note for note in changed.json()["notes"])
    same = client.post("/api/admin/settings", json={"runs": 5}, headers=AUTH).json()
    assert same["changes"] == {} and same["notes"] == ["nothing changed: no event recorded"]
    bad = client.post("/api/admin/settings", json={"metric": "bytes"}, headers=AUTH)
    assert bad.status_code == 400 and "metric 'bytes': give one of" in bad.json()["error"]
    assert client.post("/api/admin/settings", json={}, headers=AUTH).status_code == 400
    event = client.get("/events").text
    assert "settings changed" in event and "runs per image: 3 → 5" in event
    # Reinstate: refused when not disqualified; undoes a disqualification.
    key = {"submission": field["alice"], "reason": "it was fine"}
    refused = client.post("/api/admin/reinstate", json=key, headers=AUTH)
    assert refused.status_code == 400 and "not disqualified" in refused.json()["error"]
    client.post("/api/admin/disqualify", json={"submission": field["alice"], "reason": "odd"}, headers=AUTH)
    assert [r["entrant"] for r in client.get("/api/board").json()["board"]] == ["bob"]
    back = client.post("/api/admin/reinstate", json=key, headers=AUTH)
    assert back.status_code == 200, back.text
    assert back.json() == {
        "reinstated": 1,
        "submission": str(field["alice"]),
        "reason": "it was fine",
        "actor": "admin@testclient",
    }
    assert [r["entrant"] for r in client.get("/api/board").json()["board"]] == ["alice", "bob"]
    assert "reinstated (the disqualification is undone): it was fine" in client.get("/events").text
    missing = client.post("/api/admin/reinstate", json={"submission": 2**63, "reason": "x"}, headers=AUTH)
    assert missing.status_code == 400


def test_a_disqualification_names_the_organiser_not_their_address(
    client: TestClient, field: dict[str, int]
) -> None:
    body = {"submission": field["bob_tie"], "reason": "copied"}
    assert client.post("/api/admin/disqualify", json=body, headers=AUTH).status_code == 200
    assert "admin@testclient" in client.get(f"/api/submissions/{field['bob_tie']}").json()["reason"]
    for path in (f"/submissions/{field['bob_tie']}", "/entrants/bob", "/events", "/"):
        visible = re.sub(r"<[^>]+>", " ", client.get(path).text)
        assert "admin@" not in visible and "testclient" not in visible, path
    assert "disqualified by the organiser: copied" in client.get(f"/submissions/{field['bob_tie']}").text
