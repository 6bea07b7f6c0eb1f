"""Every page on a phone (390×844, like an iPhone 12) in a real browser: nothing scrolls sideways.

Wide things stay inside their own box: the tables and the explain view scroll within it, long
digests, tags, reasons and URLs wrap, the timeline's SVG shrinks to the width, the nav wraps. The
same pages are checked at a desktop width too. The data (tests/web/showcase.py) is a realistic
contest plus everything that makes a page wide: a 128-character tag, 250-character words in a
reason, stderr and notes, the 209-column explain view of a real ELF.

Hiding the overflow (``overflow-x: hidden`` on html or body) would pass a bare scrollWidth check
while cutting content off: the test refuses it, and lists any element that sticks out of the
viewport without a scrolling box around it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from imagegolf.db import open_database
from imagegolf.web import create_app
from imagegolf.web.server import ServerHandle, serve_in_thread
from tests.web import showcase
from tests.web.conftest import ADMIN_TOKEN

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# What sticks out: every element whose box crosses the viewport's left or right edge with no
# ancestor that clips or scrolls it; and the widths that decide whether the page scrolls sideways.
MEASURE = """(vw) => {
  const classes = (e) => typeof e.className === "string" && e.className.trim()
      ? "." + e.className.trim().split(/\\s+/).join(".") : "";
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes(e);
  const boxed = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [];
  for (const e of document.body.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right <= vw + 0.5 && r.left >= -0.5) continue;
    if (boxed(e)) continue;
    out.push(name(e) + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]");
  }
  return {
    innerWidth: window.innerWidth,
    html: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    htmlOverflow: getComputedStyle(document.documentElement).overflowX,
    bodyOverflow: getComputedStyle(document.body).overflowX,
    outside: out.slice(0, 12),
  };
}"""


@pytest.fixture(scope="module")
def showcase_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, dict[str, int]]]:
    path: Path = tmp_path_factory.mktemp("phone") / "contest.db"
    with open_database(str(path), retry_s=5.0) as db:
        _, ids = showcase.populate(db)
        server = serve_in_thread(create_app(db, admin_token=ADMIN_TOKEN))
        try:
            yield server, ids
        finally:
            server.stop()


def _context_page(browser: Browser, viewport: dict[str, int], **options: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone: 390×844 CSS pixels, 3 device pixels each, a touch screen, meta viewport honoured."""
    yield from _context_page(browser, PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    yield from _context_page(browser, DESKTOP)


def page_paths(ids: dict[str, int]) -> dict[str, str]:
    """Every kind of page, by a readable name."""
    paths = {
        "board": "/",
        "board-open": "/boards/open",
        "board-pull": "/boards/pull",
        "timeline": "/timeline",
        "timeline-linear": "/timeline?scale=linear",
        "timeline-open": "/boards/open/timeline",
        "entrant": "/entrants/pjones",
        "entrant-open": "/boards/open/entrants/dave",
        "entrant-long-name": "/entrants/" + quote("Long-Named Entrant", safe=""),
        "entrant-disqualified": "/entrants/alice",
        "entrant-paged": "/entrants/spammer",
        "entrant-page-2": "/entrants/spammer?page=2",
        "events": "/events",
        "rules": "/rules",
        "admin": "/admin",
        "api": "/api",
        "not-found": "/submissions/999999",
    }
    for name in SUBMISSIONS:
        paths[f"submission-{name}"] = f"/submissions/{ids[name]}"
    return paths


SUBMISSIONS = ("pjones_argv", "long", "erin", "carol_dup", "alice", "mallory")
PAGES = list(page_paths(dict.fromkeys(SUBMISSIONS, 0)))


def open_and_measure(page: Page, url: str, width: int) -> dict[str, Any]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_load_state("load")
    measured: dict[str, Any] = page.evaluate(MEASURE, width)
    assert errors == [], errors
    return measured


def assert_no_sideways_scroll(measured: dict[str, Any], width: int) -> None:
    shown = json.dumps(measured, indent=1)
    assert measured["outside"] == [], shown
    assert measured["innerWidth"] == width, shown  # a phone zooms out to fit a page wider than it
    assert measured["html"] <= measured["innerWidth"], shown
    assert measured["body"] <= measured["innerWidth"], shown
    assert measured["htmlOverflow"] == "visible" and measured["bodyOverflow"] == "visible", shown


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(
    phone: Page, showcase_site: tuple[ServerHandle, dict[str, int]], name: str
) -> None:
    server, ids = showcase_site
    measured = open_and_measure(phone, server.url + page_paths(ids)[name], PHONE["width"])
    assert_no_sideways_scroll(measured, PHONE["width"])


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_desktop(
    desktop: Page, showcase_site: tuple[ServerHandle, dict[str, int]], name: str
) -> None:
    server, ids = showcase_site
    measured = open_and_measure(desktop, server.url + page_paths(ids)[name], DESKTOP["width"])
    assert_no_sideways_scroll(measured, DESKTOP["width"])


def inside_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (selector, box)


def test_the_board_on_a_phone(phone: Page, showcase_site: tuple[ServerHandle, dict[str, int]]) -> None:
    server, _ = showcase_site
    phone.goto(server.url + "/")
    expect(phone.locator("#live-state")).to_have_text("live")
    table = phone.locator("table.leaderboard")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(6)
    expect(table.locator("tbody tr").first.locator("td.entrant")).to_have_text("dave")  # classic: files only
    # The leader's place, name and size are on screen without scrolling anything.
    for cell in ("td.place", "td.entrant", "td.size"):
        inside_viewport(phone, f"table.leaderboard tbody tr >> nth=0 >> {cell}")
    box = phone.locator("div:has(> table.leaderboard)")  # the table's own box, which scrolls sideways
    assert box.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
    inside_viewport(phone, "div:has(> table.leaderboard)")
    inside_viewport(phone, ".timeline-small svg")  # the chart shrinks to the width
    for tab in phone.locator("nav.board-tabs a").all():  # the board tabs fit (they wrap if need be)
        edge = tab.bounding_box()
        assert edge is not None and edge["x"] >= 0 and edge["x"] + edge["width"] <= PHONE["width"], edge
    for link in phone.locator("header.top nav a").all():  # the nav wraps instead of running off
        edge = link.bounding_box()
        assert edge is not None and edge["x"] + edge["width"] <= PHONE["width"], edge


def test_the_explain_view_scrolls_in_its_own_box(
    phone: Page, showcase_site: tuple[ServerHandle, dict[str, int]]
) -> None:
    server, ids = showcase_site
    phone.goto(f"{server.url}/submissions/{ids['pjones_argv']}")
    explain = phone.locator("pre.explain")
    expect(explain).to_contain_text("Elf32_Ehdr")
    inside_viewport(phone, "pre.explain")
    widths = explain.evaluate("e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]")
    assert widths[0] > widths[1] and widths[2] in ("auto", "scroll"), widths  # wider than its box: it scrolls
    explain.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    assert explain.evaluate("e => e.scrollLeft") > 0
    assert phone.evaluate("window.scrollX") == 0  # the page itself did not move


def test_the_timeline_chart_fits_a_phone(
    phone: Page, showcase_site: tuple[ServerHandle, dict[str, int]]
) -> None:
    server, _ = showcase_site
    phone.goto(server.url + "/timeline")
    inside_viewport(phone, "figure.timeline-large svg")
    labels = phone.locator("figure.timeline-large svg text.holder").all_text_contents()
    assert labels[-1] == "dave · 71 B"  # classic: pjones's 50 B argv image holds the phrase in its CMD
    phone.goto(server.url + "/boards/open/timeline")
    inside_viewport(phone, "figure.timeline-large svg")
    inside_viewport(phone, "figure.progress-large svg")  # the leaders' progress shrinks to the width too
    labels = phone.locator("figure.timeline-large svg text.holder").all_text_contents()
    assert labels[-1] == "pjones · 50 B"
