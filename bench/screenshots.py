"""The web page's screenshot in docs/: the leaderboard on a phone (390×844 CSS pixels).

    .venv/bin/python -m bench.screenshots                 # writes docs/board-phone.png
    .venv/bin/python -m bench.screenshots --pages DIR     # and every page, phone-sized, into DIR

The contest is tests/web/showcase.py's (times pinned; the board without its 128-character tag) in
a fresh SQLite file, served on 127.0.0.1 and shot with Debian's Chromium, offline
(tests/browser_services.py): the same checkout on the same machine writes the same bytes. The
normal test run never writes into docs/.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page
from tests import browser_services
from tests.web import showcase
from tests.web.test_phone import PHONE, page_paths

from imagegolf.db import open_database
from imagegolf.web import create_app
from imagegolf.web.server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "docs" / "board-phone.png"
SCALE = 2  # device pixels per CSS pixel: 780×1688, sharp on a screen, small in the repository


@contextlib.contextmanager
def served(*, stress: bool) -> Iterator[tuple[str, dict[str, int]]]:
    """The showcase contest in a fresh SQLite file, served on 127.0.0.1: its URL and ids."""
    with tempfile.TemporaryDirectory() as tmp, open_database(str(Path(tmp) / "contest.db")) as db:
        _, ids = showcase.populate(db, stress=stress)
        server = serve_in_thread(create_app(db))
        try:
            yield server.url, ids
        finally:
            server.stop()


def phone_page(browser: Browser) -> Page:
    context = browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=SCALE,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="UTC",
        color_scheme="light",
        reduced_motion="reduce",
    )
    return context.new_page()


def shoot(page: Page, url: str, path: Path, *, full_page: bool = False) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    if page.locator("#live-state").count():
        page.locator("#live-state").filter(has_text="live").wait_for()  # the badge is set by live.js
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide", scale="device")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=BOARD, help=f"the board's screenshot (default {BOARD})")
    parser.add_argument("--pages", type=Path, help="also shoot every page, whole length, into this directory")
    args = parser.parse_args(argv)
    with browser_services.started() as browser:
        page = phone_page(browser)
        with served(stress=False) as (url, _):
            shoot(page, url + "/", args.out)
            print(f"wrote {args.out}")
        if args.pages:
            args.pages.mkdir(parents=True, exist_ok=True)
            with served(stress=True) as (url, ids):
                for name, path in page_paths(ids).items():
                    target = args.pages / f"{name}.png"
                    shoot(page, url + path, target, full_page=True)
                    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
