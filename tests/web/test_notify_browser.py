"""The admin page's notifications section in a real browser (Debian's Chromium via Playwright):
the token entered, "Show the deliveries" fills the webhooks and deliveries from the admin API,
as text (an entrant's name is never markup), with no script error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from imagegolf.contest import Contest
from imagegolf.contest.notify import add_webhook
from imagegolf.contest.sender import Answer, Sender
from imagegolf.db import Database
from imagegolf.web import create_app
from imagegolf.web.server import ServerHandle, serve_in_thread
from tests.web import seed
from tests.web.conftest import ADMIN_TOKEN


@pytest.fixture
def site(db: Database, contest: Contest) -> Iterator[ServerHandle]:
    server = serve_in_thread(create_app(db, admin_token=ADMIN_TOKEN))
    try:
        yield server
    finally:
        server.stop()


def test_the_admin_page_shows_the_deliveries(
    browser_page: Page, site: ServerHandle, db: Database, contest: Contest
) -> None:
    add_webhook(db, contest, "https://hooks.slack.com/services/T0/B0/SECRET", fmt="slack", kinds=("verdict",))
    sid = seed.push(db, contest, seed.XSS, "xss-v1", minutes=1)
    seed.judge(db, contest, sid, "WRONG_OUTPUT", 80)

    def gone(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        return Answer(410, "HTTP 410: channel_is_archived")

    Sender(db, send=gone).run_once()
    errors: list[str] = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.goto(f"{site.url}/admin")
    browser_page.locator("#token").fill(ADMIN_TOKEN)
    browser_page.locator("#load-notifications").click()
    hooks = browser_page.locator("#webhook-rows tr")
    expect(hooks.first).to_contain_text("https://hooks.slack.com/…", timeout=5_000)
    expect(hooks.first).to_contain_text("1 queued")
    row = browser_page.locator("#delivery-rows tr").first
    expect(row).to_contain_text("verdict")
    expect(row).to_contain_text("channel_is_archived")
    expect(row.locator("td.entrant")).to_have_text(seed.XSS)  # text, not markup
    assert "SECRET" not in browser_page.content()
    assert errors == []
