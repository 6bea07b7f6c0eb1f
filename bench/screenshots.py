"""The web pages' screenshots in docs/: the leaderboard on a phone, the board tabs and the charts.

    .venv/bin/python -m bench.screenshots                 # writes the four PNGs below into docs/
    .venv/bin/python -m bench.screenshots --pages DIR     # and every page, phone-sized, into DIR

| file | what |
|---|---|
| docs/board-phone.png | the leaderboard (the first board, classic) on a phone, 390×844 CSS pixels |
| docs/board-tabs.png | the board tabs, the open board chosen, and its leaderboard (1000 px wide) |
| docs/board-progress.png | the leaders' progress on the open board (its timeline page's chart) |
| docs/entrant-chart.png | dave's sizes over time on the open board, his best highlighted |

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
DOCS = ROOT / "docs"
BOARD = DOCS / "board-phone.png"
TABS = DOCS / "board-tabs.png"
PROGRESS = DOCS / "board-progress.png"
ENTRANT = DOCS / "entrant-chart.png"
SCALE = 2  # device pixels per CSS pixel: 780×1688, sharp on a screen, small in the repository
WIDE = {"width": 1000, "height": 900}  # the tabs and the charts: a laptop's window


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


def _page(browser: Browser, viewport: dict[str, int], *, mobile: bool) -> Page:
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        device_scale_factor=SCALE,
        is_mobile=mobile,
        has_touch=mobile,
        locale="en-GB",
        timezone_id="UTC",
        color_scheme="light",
        reduced_motion="reduce",
    )
    return context.new_page()


def phone_page(browser: Browser) -> Page:
    return _page(browser, PHONE, mobile=True)


def wide_page(browser: Browser) -> Page:
    return _page(browser, WIDE, mobile=False)


def load(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    if page.locator("#live-state").count():
        page.locator("#live-state").filter(has_text="live").wait_for()  # the badge is set by live.js


def shoot(page: Page, url: str, path: Path, *, full_page: bool = False) -> None:
    load(page, url)
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide", scale="device")


def shoot_element(page: Page, url: str, selector: str, path: Path) -> None:
    load(page, url)
    page.locator(selector).screenshot(path=str(path), animations="disabled", caret="hide", scale="device")


def shoot_tabs(page: Page, url: str, path: Path) -> None:
    """From the page's title to the end of the leaderboard: the tabs, the rules line, the board."""
    load(page, url)
    top = page.locator("main h1").bounding_box()
    bottom = page.locator("table.leaderboard").bounding_box()
    assert top is not None and bottom is not None
    clip = {"x": 0, "y": max(top["y"] - 12, 0), "width": WIDE["width"]}
    clip["height"] = bottom["y"] + bottom["height"] + 12 - clip["y"]
    page.screenshot(
        path=str(path), clip=clip, animations="disabled", caret="hide", scale="device"  # type: ignore[arg-type]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=BOARD, help=f"the board's screenshot (default {BOARD})")
    parser.add_argument(
        "--docs", type=Path, default=DOCS, help=f"where the tabs and charts go (default {DOCS})"
    )
    parser.add_argument("--pages", type=Path, help="also shoot every page, whole length, into this directory")
    args = parser.parse_args(argv)
    with browser_services.started() as browser:
        phone, wide = phone_page(browser), wide_page(browser)
        with served(stress=False) as (url, _):
            shoot(phone, url + "/", args.out)
            print(f"wrote {args.out}")
            shots = (
                (TABS.name, lambda path: shoot_tabs(wide, url + "/boards/open", path)),
                (PROGRESS.name, lambda path: shoot_element(
                    wide, url + "/boards/open/timeline", "figure.progress-large svg", path
                )),
                (ENTRANT.name, lambda path: shoot_element(
                    wide, url + "/boards/open/entrants/dave", "figure.entrant-chart svg", path
                )),
            )  # fmt: skip
            for name, take in shots:
                target = args.docs / name
                take(target)
                print(f"wrote {target}")
        if args.pages:
            args.pages.mkdir(parents=True, exist_ok=True)
            with served(stress=True) as (url, ids):
                for name, path in page_paths(ids).items():
                    target = args.pages / f"{name}.png"
                    shoot(phone, url + path, target, full_page=True)
                    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
