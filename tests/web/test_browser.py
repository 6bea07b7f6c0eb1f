"""The pages in a real browser (Debian's Chromium via Playwright; fails, never skips, without it).

The app runs on uvicorn in a thread on 127.0.0.1 (a free port); the browser is offline but for
loopback, so the pages must work with no CDN.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, Response, expect

from imagegolf.contest import Contest
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
