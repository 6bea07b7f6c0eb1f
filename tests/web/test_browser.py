"""The pages in a real browser (Debian's Chromium via Playwright; fails, never skips, without it).

The app runs on uvicorn in a thread on 127.0.0.1 (a free port); the browser is offline but for
loopback, so the pages must work with no CDN.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, Response, expect

from imagegolf.contest import Contest
from imagegolf.contest.settings import change_settings
from imagegolf.db import Database
from imagegolf.web import create_app
from imagegolf.web.server import ServerHandle, serve_in_thread
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN

LIVE_TIMEOUT_MS = 10_000  # the page polls every 2 s


@pytest.fixture
def site(db: Database, contest: Contest, field: dict[str, int]) -> Iterator[ServerHandle]:
    server = serve_in_thread(create_app(db, admin_token=ADMIN_TOKEN))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dialogs(browser_page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (there must be none)."""
    seen: list[str] = []

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    browser_page.on("dialog", record)
    return seen


def rows(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("table.leaderboard tbody tr td.entrant").all_inner_texts()]


def test_the_board_renders(browser_page: Page, site: ServerHandle, dialogs: list[str]) -> None:
    errors: list[str] = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP refusals
    browser_page.goto(f"{site.url}/")
    expect(browser_page.locator("h1")).to_contain_text("Leaderboard")
    assert rows(browser_page) == ["alice", "bob"]
    first = browser_page.locator("table.leaderboard tbody tr").first
    expect(first.locator("td.size")).to_contain_text("73 B")
    expect(browser_page.locator(".pending-count")).to_have_text("1")
    expect(browser_page.locator("ul.unranked")).to_contain_text("mallory")
    expect(browser_page.locator(".timeline-small svg")).to_be_visible()
    expect(browser_page.locator("#live-state")).to_have_text("live")
    # The stylesheet loaded from the app itself (no CDN): the header has its background.
    background = browser_page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(246, 248, 250)"
    assert errors == [] and dialogs == []


def test_the_board_updates_without_a_reload(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["alice", "bob"]
    browser_page.evaluate("window.__notReloaded = true")
    seed.judge(db, contest, field["dave"], size=60)  # dave's queued submission is judged: a new record
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "dave", timeout=LIVE_TIMEOUT_MS
    )
    assert rows(browser_page) == ["dave", "alice", "bob"]
    expect(browser_page.locator(".pending-count")).to_have_text("0")
    assert browser_page.evaluate("window.__notReloaded") is True
    newest = seed.push(db, contest, "erin", minutes=30)
    seed.judge(db, contest, newest, size=59)
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "erin", timeout=LIVE_TIMEOUT_MS
    )
    assert browser_page.evaluate("window.__notReloaded") is True


def test_an_unchanged_board_is_asked_for_and_not_sent_again(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest, field: dict[str, int]
) -> None:
    polls: list[tuple[int, str | None]] = []

    def seen(response: Response) -> None:
        if "/fragments/board" in response.url:
            polls.append((response.status, response.request.headers.get("if-none-match")))

    browser_page.on("response", seen)
    browser_page.goto(f"{site.url}/")
    browser_page.wait_for_timeout(4_500)  # two polls at least, nothing recorded meanwhile
    shown = browser_page.locator("#board").get_attribute("data-etag")
    assert len(polls) >= 2 and all(p == (304, f'"{shown}"') for p in polls), polls
    seed.judge(db, contest, field["dave"], size=60)  # an event: the next poll gets the new board
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "dave", timeout=LIVE_TIMEOUT_MS
    )
    assert 200 in [status for status, _ in polls]
    assert browser_page.locator("#board").get_attribute("data-etag") != shown


def test_a_submission_page_opens_from_the_board(
    browser_page: Page, site: ServerHandle, field: dict[str, int]
) -> None:
    browser_page.goto(f"{site.url}/")
    browser_page.locator("table.leaderboard tbody tr").first.locator("td.size a").click()
    browser_page.wait_for_url(f"**/submissions/{field['alice']}")
    expect(browser_page.locator("h1")).to_contain_text(f"Submission #{field['alice']}")
    expect(browser_page.locator("h1 .status")).to_have_text("ACCEPTED")
    expect(browser_page.locator("pre.stdout").first).to_have_text(seed.PHRASE + "\n")
    expect(browser_page.locator("tr.ranked")).to_contain_text("docker_classic")


def test_the_timeline_shows_the_record_holders(browser_page: Page, site: ServerHandle) -> None:
    browser_page.goto(f"{site.url}/timeline")
    labels = browser_page.locator("figure.timeline-large svg text.holder").all_text_contents()
    assert labels == ["bob · 5,000 B", "alice · 73 B"]
    expect(browser_page.locator("table.records tbody tr")).to_have_count(2)
    browser_page.locator("figure.timeline-large svg a").last.click()
    browser_page.wait_for_url("**/submissions/*")
    expect(browser_page.locator("dd.tag")).to_have_text("alice")


def test_script_in_a_tag_or_stdout_is_shown_as_text(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest, dialogs: list[str]
) -> None:
    evil = seed.push(db, contest, seed.XSS, minutes=40)
    seed.judge(db, contest, evil, size=50, stdout=seed.XSS, stderr=seed.XSS)
    browser_page.goto(f"{site.url}/")
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(seed.XSS)
    browser_page.goto(f"{site.url}/submissions/{evil}")
    expect(browser_page.locator("dd.tag")).to_have_text(seed.XSS)
    expect(browser_page.locator("pre.stdout").first).to_have_text(seed.XSS)
    assert browser_page.locator("main script").count() == 0
    # And through the live swap: a hostile tag arriving while the board is open.
    browser_page.goto(f"{site.url}/")
    later = seed.push(db, contest, "<img src=x onerror=alert(2)>", minutes=50)
    seed.judge(db, contest, later, size=40, stdout="<b onmouseover=alert(3)>x</b>")
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "<img src=x onerror=alert(2)>", timeout=LIVE_TIMEOUT_MS
    )
    assert browser_page.locator("#board img").count() == 0
    assert dialogs == []


def test_the_admin_page_disqualifies_with_the_token(
    browser_page: Page, site: ServerHandle, field: dict[str, int]
) -> None:
    browser_page.goto(f"{site.url}/admin")
    form = browser_page.locator("form#disqualify")
    form.locator("input[name=submission]").fill(str(field["alice"]))
    form.locator("input[name=reason]").fill("copied the seed")
    form.locator("button").click()
    expect(browser_page.locator("#admin-result")).to_contain_text("401", timeout=5_000)  # no token yet
    browser_page.locator("#token").fill(ADMIN_TOKEN)
    form.locator("button").click()
    expect(browser_page.locator("#admin-result")).to_contain_text('"disqualified":1', timeout=5_000)
    expect(browser_page.locator("#admin-result")).to_contain_text("admin@127.0.0.1")
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["bob"]


def admin_tab(page: Page, url: str) -> Page:
    """The admin page in another tab of the same browser, its token entered."""
    tab = page.context.new_page()
    tab.goto(f"{url}/admin")
    tab.locator("#token").fill(ADMIN_TOKEN)
    return tab


def test_the_admin_page_changes_the_metric_and_the_open_board_re_ranks(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest
) -> None:
    # zed: third by docker_classic (90 B), first by pull_bytes (10 B).
    zed = seed.push(db, contest, "zed", minutes=20)
    seed.judge(db, contest, zed, size=90, sizes={"pull_bytes": 10})
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["alice", "bob", "zed"]
    browser_page.evaluate("window.__notReloaded = true")
    admin = admin_tab(browser_page, site.url)
    form = admin.locator("form#settings")
    form.locator("select[name=metric]").select_option("pull_bytes")
    form.locator("button").click()
    result = admin.locator("#admin-result")
    expect(result).to_contain_text('"metric":["docker_classic","pull_bytes"]', timeout=5_000)
    expect(result).to_contain_text("admin@127.0.0.1")
    assert '"runs"' not in result.inner_text().split('"settings"')[0]  # only what was changed is sent
    # The admin page's real board, and the public board (live, without a reload), re-ranked.
    expect(admin.locator("#real-board-rows tr td.entrant").first).to_have_text("zed", timeout=5_000)
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "zed", timeout=LIVE_TIMEOUT_MS
    )
    assert rows(browser_page) == ["zed", "alice", "bob"]
    expect(browser_page.locator("table.leaderboard thead")).to_contain_text("pull_bytes")
    assert browser_page.evaluate("window.__notReloaded") is True
    # The same form again, nothing changed in it: said so, nothing sent.
    form.locator("button").click()
    expect(result).to_have_text("nothing changed in the form: nothing sent", timeout=5_000)


def test_the_admin_page_disqualifies_then_reinstates(
    browser_page: Page, site: ServerHandle, field: dict[str, int]
) -> None:
    admin = admin_tab(browser_page, site.url)
    result = admin.locator("#admin-result")
    reinstate = admin.locator("form#reinstate")
    reinstate.locator("input[name=submission]").fill(str(field["alice"]))
    reinstate.locator("input[name=reason]").fill("a mistake")
    reinstate.locator("button").click()
    expect(result).to_contain_text("400", timeout=5_000)
    expect(result).to_contain_text("is not disqualified")
    disqualify = admin.locator("form#disqualify")
    disqualify.locator("input[name=submission]").fill(str(field["alice"]))
    disqualify.locator("input[name=reason]").fill("copied the seed")
    disqualify.locator("button").click()
    expect(result).to_contain_text('"disqualified":1', timeout=5_000)
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["bob"]
    reinstate.locator("button").click()
    expect(result).to_contain_text('"reinstated":1', timeout=5_000)
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "alice", timeout=LIVE_TIMEOUT_MS
    )
    assert rows(browser_page) == ["alice", "bob"]
    browser_page.goto(f"{site.url}/submissions/{field['alice']}")
    events = browser_page.locator("table.events")
    expect(events).to_contain_text("disqualified: copied the seed")
    expect(events).to_contain_text("reinstated (the disqualification is undone): a mistake")


def test_the_board_freezes_counts_down_and_unfreezes(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest
) -> None:
    freeze = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
    change_settings(db, contest, {"freeze_at": freeze.isoformat()}, actor="admin")
    browser_page.goto(f"{site.url}/")
    countdown = browser_page.locator("#countdown .until-freeze")
    expect(countdown).to_contain_text(f"The board freezes at {freeze:%Y-%m-%d %H:%M:%S} UTC")
    expect(countdown.locator(".left")).to_have_text(re.compile(r" — in 00:00:0[1-6]"))
    first = countdown.locator(".left").inner_text()
    expect(countdown.locator(".left")).not_to_have_text(first, timeout=3_000)  # it counts
    # The freeze comes with no event: the next poll brings the frozen board (its tag says so).
    expect(countdown.locator(".left")).to_have_text(" — the board is frozen", timeout=10_000)
    expect(browser_page.locator("#board .freeze-note")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    # A record pushed after the freeze: judged, and not on the public board.
    minutes = (dt.datetime.now(dt.UTC) - seed.T0).total_seconds() / 60
    late = seed.push(db, contest, "yan", minutes=minutes)
    seed.judge(db, contest, late, size=20)
    expect(browser_page.locator("ul.unranked")).to_contain_text(
        "yan: frozen: result hidden until the end", timeout=LIVE_TIMEOUT_MS
    )
    assert rows(browser_page) == ["alice", "bob"]
    browser_page.goto(f"{site.url}/submissions/{late}")  # its own page: the real verdict
    expect(browser_page.locator("h1 .status")).to_have_text("ACCEPTED")
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["alice", "bob"]
    # The organiser shows the final board from the admin page: the open board follows.
    admin = admin_tab(browser_page, site.url)
    expect(admin.locator("#freeze-state")).to_contain_text("frozen since")
    admin.locator("form#unfreeze button").click()
    expect(admin.locator("#admin-result")).to_contain_text('"unfrozen_at"', timeout=5_000)
    expect(browser_page.locator("table.leaderboard tbody tr td.entrant").first).to_have_text(
        "yan", timeout=LIVE_TIMEOUT_MS
    )
    assert rows(browser_page) == ["yan", "alice", "bob"]
    expect(browser_page.locator("#board .final-note")).to_contain_text("The board is unfrozen")
