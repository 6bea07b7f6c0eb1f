"""The boards on the pages: a tab per board, each board's page, live fragment (its own ETag),
timeline, progress chart, exports and entrants; a submission's place on every board; 404 for a
board the contest does not have; hostile entrant names in the charts; and the freeze.

The judgements are seed.judge_three_kinds' (tests/web/test_boards_api.py has the story): classic
ranks amy only; open ranks bob (50 B, phrase in its CMD), amy (71 B), cat (exit 3, 1 MB); pull
ranks bob and amy by pull_bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from imagegolf.contest import Contest
from imagegolf.contest.settings import change_settings
from imagegolf.db import Database
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN, TestClient, client_for

SVG = "{http://www.w3.org/2000/svg}"
RULES = {
    "classic": "ranked by docker_classic; the message in its files only; exit 0; every judged platform",
    "open": "ranked by docker_classic; the message from anywhere (files or CMD); any exit status; "
    "every judged platform",
    "pull": "ranked by pull_bytes; the message from anywhere (files or CMD); exit 0; every judged platform",
}


@pytest.fixture
def three(db: Database, contest: Contest) -> dict[str, int]:
    return seed.judge_three_kinds(db, contest)


def between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def board_names(html: str) -> list[str]:
    board = between(html, 'class="leaderboard"', "</table>")
    return re.findall(r'<td class="entrant"><a href="[^"]*">([^<]*)</a>', board)


def tabs(html: str) -> list[tuple[str, str, bool]]:
    """(href, title, current) of each tab."""
    nav = between(html, '<nav class="board-tabs" aria-label="Boards">', "</nav>")
    found = re.findall(
        r'<a href="([^"]*)" title="[^"]*"( aria-current="page")?><span class="tab-title">([^<]*)', nav
    )
    return [(href, title, bool(current)) for href, current, title in found]


def svgs(html: str) -> list[ET.Element]:
    """Every inline chart of a page, parsed as XML."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_the_board_page_has_a_tab_per_board_with_its_rules(client: TestClient, three: dict[str, int]) -> None:
    html = client.get("/").text
    assert tabs(html) == [
        ("/", "Classic", True),
        ("/boards/open", "Open", False),
        ("/boards/pull", "Pull bytes", False),
    ]
    for name, rules in RULES.items():
        assert f'title="{rules}"' in html, name  # each tab says its board's rules
    assert f"<strong>Classic</strong>: {RULES['classic']}" in html  # the chosen board's, in full
    assert board_names(html) == ["amy"]
    opened = client.get("/boards/open").text
    assert tabs(opened) == [
        ("/", "Classic", False),
        ("/boards/open", "Open", True),
        ("/boards/pull", "Pull bytes", False),
    ]
    assert f"<strong>Open</strong>: {RULES['open']}" in opened
    assert board_names(opened) == ["bob", "amy", "cat"]
    pulled = client.get("/boards/pull").text
    assert board_names(pulled) == ["bob", "amy"] and ">pull_bytes</th>" in pulled
    assert "600 B" in between(pulled, 'class="leaderboard"', "</table>")
    # The first board by its name is the first board.
    assert board_names(client.get("/boards/classic").text) == ["amy"]


def test_each_board_lists_its_own_unranked_entrants(client: TestClient, three: dict[str, int]) -> None:
    classic = between(client.get("/").text, 'class="unranked"', "</ul>")
    assert "bob" in classic and "config holds the phrase" in classic
    assert "cat" in classic and "RUNTIME_ERROR" in classic
    assert 'class="unranked"' not in client.get("/boards/open").text  # all three rank there
    pull = between(client.get("/boards/pull").text, 'class="unranked"', "</ul>")
    assert 'href="/boards/pull/entrants/cat"' in pull and "bob" not in pull


def test_each_board_links_its_own_timeline_exports_and_entrants(
    client: TestClient, three: dict[str, int]
) -> None:
    html = client.get("/boards/open").text
    for href in (
        "/boards/open/timeline",
        "/api/boards/open/export.csv",
        "/api/boards/open/export.json",
        "/boards/open/entrants/bob",
        "/fragments/boards/open?page=1",
    ):
        assert f'"{href}"' in html, href
    assert 'href="/timeline"' not in html.split("<main>")[1]  # nothing of the first board's in it
    first = client.get("/").text
    assert '"/timeline"' in first and '"/api/export.csv"' in first and '"/entrants/amy"' in first
    # Every link of a board's pages to that board's pages answers.
    for page in ("/boards/open", "/boards/open/timeline", "/boards/open/entrants/cat"):
        for href in set(
            re.findall(r'href="(/(?:boards|api/boards|fragments/boards)/open[^"]*)"', client.get(page).text)
        ):
            assert client.get(href.replace("&amp;", "&")).status_code == 200, (page, href)


def test_each_boards_fragment_has_its_own_etag(client: TestClient, three: dict[str, int]) -> None:
    page = client.get("/boards/open")
    held = re.search(r'data-live="/fragments/boards/open\?page=1" data-etag="([^"]+)"', page.text)
    assert held is not None
    fragment = client.get("/fragments/boards/open")
    tag = fragment.headers["x-imagegolf-etag"]
    assert tag == held.group(1) == client.get("/api/version").json()["etag"] + ".open.1"
    assert fragment.headers["etag"] == f'"{tag}"' and "<html" not in fragment.text
    assert board_names(fragment.text) == ["bob", "amy", "cat"]
    assert client.get("/fragments/boards/open", headers={"If-None-Match": f'"{tag}"'}).status_code == 304
    other = client.get("/fragments/boards/pull", headers={"If-None-Match": f'"{tag}"'})
    assert other.status_code == 200  # a tag of one board is never "not modified" for another
    first = client.get("/fragments/board", headers={"If-None-Match": f'"{tag}"'})
    assert first.status_code == 200 and board_names(first.text) == ["amy"]
    # The record is in the fragment, for live.js to see it fall.
    section = re.search(r'<section class="board"[^>]*>', fragment.text)
    assert section is not None
    assert f'data-record="{three["bob"]}"' in section.group(0) and 'data-record-size="50"' in section.group(0)
    news = between(fragment.text, '<p class="record-news"', "</p>")
    assert "hidden" in news.split(">")[0] and "New record on Open" in news and "breaking 71 B" in news


def test_a_board_the_contest_does_not_have_is_a_404_page(client: TestClient, three: dict[str, int]) -> None:
    tag = client.get("/fragments/boards/open").headers["etag"]
    for path in (
        "/boards/nope",
        "/fragments/boards/nope",
        "/boards/nope/timeline",
        "/boards/nope/timeline.svg",
        "/boards/nope/progress.svg",
        "/boards/nope/entrants/amy",
    ):
        answer = client.get(path, headers={"If-None-Match": tag})  # a tag of a real board: still a 404
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert "no board named &#39;nope&#39; (boards: classic, open, pull)" in answer.text, path
    assert client.get("/boards/open/entrants/nobody").status_code == 404
    long = client.get("/boards/" + "x" * 300)
    assert long.status_code == 404 and "x" * 41 not in long.text


def test_each_boards_timeline_and_its_leaders_progress(client: TestClient, three: dict[str, int]) -> None:
    html = client.get("/boards/open/timeline").text
    assert tabs(html)[1] == ("/boards/open/timeline", "Open", True) and tabs(html)[0][0] == "/timeline"
    records = between(html, 'class="records"', "</table>")
    assert re.findall(r'href="/boards/open/entrants/(\w+)"', records) == ["amy", "bob"]
    timeline, progress = svgs(html)
    assert "Record on Open by docker_classic" in "".join(timeline.itertext())
    lines = [g for g in progress.iter(f"{SVG}g") if g.get("class") == "series"]
    assert sorted(g.get("data-place") for g in lines) == ["1", "2", "3"]
    legend = ["".join(t.itertext()) for t in progress.iter(f"{SVG}text") if t.get("class") == "who"]
    assert legend == ["1. bob · 50 B", "2. amy · 71 B", "3. cat · 1MB"]
    table = between(html, 'class="progress-table"', "</table>")
    assert table.index(">bob<") < table.index(">amy<") < table.index(">cat<")
    for path in ("/boards/open/timeline.svg", "/boards/open/progress.svg", "/progress.svg"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml"), path
        ET.fromstring(answer.text)
    first = client.get("/progress.svg").text  # the first board's: amy alone
    assert "1. amy · 71 B" in first and "bob" not in first
    pull = client.get("/boards/pull/timeline?scale=linear")
    assert pull.status_code == 200 and "Record on Pull bytes by pull_bytes" in pull.text
    again = client.get(
        "/boards/open/timeline",
        headers={"If-None-Match": client.get("/boards/open/timeline").headers["etag"]},
    )
    assert again.status_code == 304  # rendered once per version, and not sent again


def test_an_entrants_page_per_board_with_their_chart(client: TestClient, three: dict[str, int]) -> None:
    html = client.get("/boards/open/entrants/cat").text
    assert tabs(html) == [
        ("/entrants/cat", "Classic", False), ("/boards/open/entrants/cat", "Open", True),
        ("/boards/pull/entrants/cat", "Pull bytes", False),
    ]  # fmt: skip
    assert "Place <strong>3</strong> on Open" in html and "does not count on this board" in html
    (chart,) = svgs(html)
    assert chart.get("class") == "entrant-chart"
    best = [a.get("href") for a in chart.iter(f"{SVG}a") if a.get("class") == "best"]
    assert best == [f"/submissions/{three['cat']}"]
    classic = client.get("/entrants/cat").text
    assert "Not on the Classic board" in classic
    (empty,) = svgs(classic)
    assert any(
        "no accepted submission on this board yet" in "".join(t.itertext()) for t in empty.iter(f"{SVG}text")
    )


def test_a_submission_shows_its_status_and_place_on_every_board(
    client: TestClient, three: dict[str, int]
) -> None:
    html = client.get(f"/submissions/{three['bob']}").text
    table = between(html, 'class="placings"', "</table>")
    rows = {name: between(table, f'data-board="{name}"', "</tr>") for name in ("classic", "open", "pull")}
    assert "REJECTED_IMAGE" in rows["classic"] and "config holds the phrase" in rows["classic"]
    assert 'class="num place"><span class="muted">—' in rows["classic"]
    assert "ACCEPTED" in rows["open"] and "50 B" in rows["open"] and 'class="num place">1<' in rows["open"]
    assert (
        "600 B" in rows["pull"] and "by pull_bytes" in rows["pull"] and 'href="/boards/pull"' in rows["pull"]
    )
    assert "<strong>ranked</strong> on Pull bytes" in html  # the metrics each board ranks by


@pytest.fixture
def hostile(db: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """Entrants named with markup, right-to-left controls and 200 characters (the organiser's
    tag map names them; an account's name can be as bad)."""
    names = {"evil": seed.XSS, "rtl": "\u202eevil\u200f <b>", "long": "W" * 199 + "<"}
    contest = seed.make_contest(db, entrant_map=names)
    for n, tag in enumerate(names):
        sid = seed.push(db, contest, tag, minutes=n)
        seed.judge(db, contest, sid, size=100 - n)
        later = seed.push(db, contest, tag, f"{tag}-2", minutes=n + 5)
        seed.judge(db, contest, later, size=50 - n)
    with client_for(db) as client:
        yield client, names


def test_hostile_names_are_escaped_in_every_chart(hostile: tuple[TestClient, dict[str, str]]) -> None:
    client, names = hostile
    pages = ["/", "/timeline", "/boards/open/timeline", "/progress.svg", "/timeline.svg"]
    pages += [f"/boards/open/entrants/{quote(name, safe='')}" for name in names.values()]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "<script>" not in answer.text and "<b>" not in answer.text, path
        charts = [ET.fromstring(answer.text)] if path.endswith(".svg") else svgs(answer.text)
        assert charts, path  # each parses as XML
    progress = ET.fromstring(client.get("/progress.svg").text)
    legend = ["".join(t.itertext()) for t in progress.iter(f"{SVG}text") if t.get("class") == "who"]
    assert any(seed.XSS in line for line in legend)
    assert any("\u2068\u202eevil\u200f <b>\u2069" in line for line in legend)  # isolated
    assert any("W" * 39 + "…" in line for line in legend)  # cut; the description has it whole
    desc = progress.find(f"{SVG}desc")
    assert desc is not None and names["long"] in (desc.text or "")
    entrant = client.get("/entrants/" + quote(names["long"], safe="")).text
    assert "W" * 199 + "&lt;" in entrant  # the page says the whole name, escaped


@pytest.fixture
def frozen(db: Database, contest: Contest, three: dict[str, int]) -> Iterator[TestClient]:
    """Frozen after the three; then dan's 40-byte argv image, a record on open and pull."""
    change_settings(db, contest, {"freeze_at": seed.at(5)}, actor="admin")
    three["dan"] = seed.push(db, contest, "dan", minutes=10)
    seed.judge(db, contest, three["dan"], size=40, any_exit="ACCEPTED", phrase_in="config")
    with client_for(db, admin_token=ADMIN_TOKEN) as client:
        yield client


def test_the_tabs_and_charts_follow_the_freeze(frozen: TestClient, three: dict[str, int]) -> None:
    html = frozen.get("/boards/open").text
    assert "The board is frozen" in html and len(tabs(html)) == 3
    assert board_names(html) == ["bob", "amy", "cat"]  # dan's 40 B is hidden
    assert "dan: frozen: result hidden until the end" in re.sub(
        r"<[^>]+>", "", between(html, 'class="unranked"', "</ul>")
    )
    fragment = frozen.get("/fragments/boards/open")
    assert fragment.headers["x-imagegolf-etag"].endswith("-frozen.open.1")
    assert f'data-record="{three["bob"]}"' in fragment.text  # the record does not fall while frozen
    timeline = frozen.get("/boards/open/timeline").text
    assert "dan" not in between(timeline, 'class="records"', "</table>")
    progress = frozen.get("/boards/open/progress.svg").text
    assert "dan" not in progress and "1. bob · 50 B" in progress
    dan = frozen.get("/boards/open/entrants/dan").text
    assert "FROZEN" in dan and "no accepted submission on this board yet" in dan
    # The submission's own page: the truth on every board.
    own = between(frozen.get(f"/submissions/{three['dan']}").text, 'class="placings"', "</table>")
    assert 'class="num place">1<' in between(own, 'data-board="open"', "</tr>")
