"""The boards in a real browser (Debian's Chromium via Playwright): the tabs by keyboard and by
click, each board's live fragment, the new-record highlight when a record falls while the page is
open (with and without reduced motion), and the charts drawn with real sizes.

The contest is seed.judge_three_kinds' (classic ranks amy; open bob, amy, cat; pull bob, amy),
served by uvicorn in a thread on 127.0.0.1; the browser is offline but for loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from imagegolf.contest import Contest
from imagegolf.db import Database
from imagegolf.web import create_app
from imagegolf.web.server import ServerHandle, serve_in_thread
from tests.web import seed

LIVE_TIMEOUT_MS = 10_000  # the page polls every 2 s
HIGHLIGHT_GONE_MS = 12_000  # live.js highlights a new record for 6 s


@pytest.fixture
def three(db: Database, contest: Contest) -> dict[str, int]:
    return seed.judge_three_kinds(db, contest)


@pytest.fixture
def site(db: Database, three: dict[str, int]) -> Iterator[ServerHandle]:
    server = serve_in_thread(create_app(db))
    try:
        yield server
    finally:
        server.stop()


def rows(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("table.leaderboard tbody tr td.entrant").all_inner_texts()]


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP refusals
    return errors


def record_dan(db: Database, contest: Contest) -> int:
    """dan's 40-byte argv image (the phrase in its CMD): a record on open and pull, not on classic."""
    dan = seed.push(db, contest, "dan", minutes=20)
    seed.judge(db, contest, dan, size=40, any_exit="ACCEPTED", phrase_in="config")
    return dan


def test_the_tabs_switch_boards_by_keyboard_and_by_click(browser_page: Page, site: ServerHandle) -> None:
    errors = watch_errors(browser_page)
    fragments: list[str] = []

    def seen(response: Response) -> None:
        if "/fragments/" in response.url:
            fragments.append(response.url.removeprefix(site.url))

    browser_page.on("response", seen)
    browser_page.goto(f"{site.url}/")
    assert rows(browser_page) == ["amy"]
    tabs = browser_page.locator("nav.board-tabs a")
    expect(tabs).to_have_text([
        "Classic docker_classic", "Open docker_classic", "Pull bytes pull_bytes",
    ])  # fmt: skip
    expect(tabs.nth(0)).to_have_attribute("aria-current", "page")
    expect(browser_page.locator(".board-rules")).to_contain_text("the message in its files only")
    # By keyboard: Tab from the top of the page until the Open tab has the focus, then Enter.
    for _ in range(30):
        browser_page.keyboard.press("Tab")
        if browser_page.evaluate("document.activeElement.textContent").startswith("Open"):
            break
    else:
        pytest.fail("the Open tab is not reachable with the Tab key")
    outline = browser_page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    browser_page.keyboard.press("Enter")
    browser_page.wait_for_url(f"{site.url}/boards/open")
    assert rows(browser_page) == ["bob", "amy", "cat"]
    expect(tabs.nth(1)).to_have_attribute("aria-current", "page")
    expect(browser_page.locator(".board-rules")).to_contain_text("any exit status")
    expect(browser_page.locator("#live-state")).to_have_text("live")
    # By click: pull ranks by pull_bytes.
    tabs.nth(2).click()
    browser_page.wait_for_url(f"{site.url}/boards/pull")
    assert rows(browser_page) == ["bob", "amy"]
    expect(browser_page.locator("table.leaderboard thead")).to_contain_text("pull_bytes")
    expect(browser_page.locator("#live-state")).to_have_text("live")
    assert "/fragments/boards/open?page=1" in fragments and "/fragments/boards/pull?page=1" in fragments
    # The entrant's tabs keep the entrant.
    browser_page.locator("table.leaderboard tbody tr td.entrant a").first.click()
    browser_page.wait_for_url(f"{site.url}/boards/pull/entrants/bob")
    tabs.nth(0).click()  # Classic
    browser_page.wait_for_url(f"{site.url}/entrants/bob")
    expect(browser_page.locator("p.lede")).to_contain_text("Not on the Classic board")
    assert errors == []


def test_a_new_record_is_highlighted_on_the_open_board(
    browser_page: Page, browser: Browser, site: ServerHandle, db: Database, contest: Contest
) -> None:
    errors = watch_errors(browser_page)
    browser_page.goto(f"{site.url}/boards/open")
    news = browser_page.locator("#board .record-news")
    expect(news).to_be_hidden()  # the record standing when the page opened is not news
    classic = browser_page.context.new_page()  # the same contest on classic, where dan does not rank
    classic.goto(f"{site.url}/")
    version = classic.locator("#board section.board").get_attribute("data-version")
    browser_page.evaluate("window.__notReloaded = true")
    record_dan(db, contest)
    expect(news).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(news).to_contain_text("New record on Open: dan with 40 B, breaking 50 B.")
    row = browser_page.locator("table.leaderboard tr.new-record")
    expect(row).to_have_count(1)
    expect(row.locator("td.entrant")).to_have_text("dan")
    assert row.locator("td").first.evaluate("e => getComputedStyle(e).animationName") == "record-flash"
    assert browser_page.evaluate("window.__notReloaded") is True
    # A few seconds later the highlight is gone; the board stays.
    expect(news).to_be_hidden(timeout=HIGHLIGHT_GONE_MS)
    expect(row).to_have_count(0)
    assert rows(browser_page) == ["dan", "bob", "amy", "cat"]
    # On classic the same event is a new version but no new record: nothing is highlighted.
    expect(classic.locator("#board section.board")).not_to_have_attribute(
        "data-version", version or "", timeout=LIVE_TIMEOUT_MS
    )
    expect(classic.locator("#board .record-news")).to_be_hidden()
    assert classic.locator("tr.new-record").count() == 0 and rows(classic) == ["amy"]
    assert errors == []


def test_the_highlight_does_not_flash_for_reduced_motion(
    browser: Browser, site: ServerHandle, db: Database, contest: Contest
) -> None:
    context = browser.new_context(reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(f"{site.url}/boards/pull")
        record_dan(db, contest)
        row = page.locator("table.leaderboard tr.new-record")
        expect(row).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        cell = row.locator("td").first
        assert cell.evaluate("e => getComputedStyle(e).animationName") == "none"
        assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(172, 238, 187)"  # coloured
        expect(page.locator("#board .record-news")).to_contain_text("New record on Pull bytes: dan")
    finally:
        context.close()


def box_area(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["width"] * box["height"]


def test_the_charts_render(browser_page: Page, site: ServerHandle, three: dict[str, int]) -> None:
    errors = watch_errors(browser_page)
    browser_page.goto(f"{site.url}/boards/open/timeline")
    for selector in ("figure.timeline-large svg", "figure.progress-large svg"):
        assert box_area(browser_page, selector) > 100 * 100, selector
    lines = browser_page.locator("figure.progress-large svg g.series path.line")
    expect(lines).to_have_count(3)
    for n in range(3):
        box = lines.nth(n).bounding_box()
        assert box is not None and box["width"] > 50, n  # each line runs across the plot
    legend = browser_page.locator("figure.progress-large svg g.legend text")
    expect(legend).to_have_text(["1. bob · 50 B", "2. amy · 71 B", "3. cat · 1MB"])
    ticks = browser_page.locator("figure.progress-large svg text.tick")
    expect(ticks).to_have_text(["32 B", "1 KiB", "32 KiB", "1 MiB"])  # 50 B to 1 MB, log scale
    # The accessible name and description of the chart are its <title> and <desc>.
    chart = browser_page.locator("figure.progress-large svg")
    expect(chart).to_have_accessible_name("Top 3 on Open: their best by docker_classic over time")
    expect(chart).to_have_accessible_description(
        "Each entrant's best on Open by docker_classic, log scale, over time. "
        "1. bob: 50 B; 2. amy: 71 B; 3. cat: 1,000,000 B."
    )
    browser_page.goto(f"{site.url}/boards/open/entrants/bob")
    assert box_area(browser_page, "figure.entrant-chart svg") > 100 * 100
    assert box_area(browser_page, "figure.entrant-chart svg a.best circle >> nth=0") > 0
    browser_page.locator("figure.entrant-chart svg a.best").click()  # the best links to itself
    browser_page.wait_for_url(f"{site.url}/submissions/{three['bob']}")
    expect(browser_page.locator("table.placings tr[data-board=open] td.place")).to_have_text("1")
    assert errors == []
