"""The test infrastructure itself: a real PostgreSQL and a real headless Chromium, as fixtures give them."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests import db_services
from tests.browser_services import serve
from tests.db_services import Postgres


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_postgres_listens_on_loopback_only_and_fast(postgres: Postgres) -> None:
    assert _listening(postgres.port) == ["0100007F"]  # 127.0.0.1, and no IPv6 or wildcard socket
    with psycopg.connect(postgres.url) as conn:
        settings: dict[str, str] = dict(conn.execute("SELECT name, setting FROM pg_settings").fetchall())
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["port"] == str(postgres.port)
    assert settings["fsync"] == "off"
    assert settings["full_page_writes"] == "off"
    assert settings["unix_socket_directories"] == postgres.dir


def test_new_database_is_fresh_and_data_survives_restart(postgres: Postgres) -> None:
    first, second = postgres.new_database(), postgres.new_database()
    assert first != second
    assert postgres.new_database("infra_named").endswith(f":{postgres.port}/infra_named")
    with psycopg.connect(first) as conn:
        conn.execute("CREATE TABLE entries (id serial PRIMARY KEY, golfer text NOT NULL)")
        conn.execute("INSERT INTO entries (golfer) VALUES (%s), (%s)", ("ada", "grace"))
    with psycopg.connect(second) as conn:  # another database: none of the first's tables
        assert conn.execute("SELECT to_regclass('entries')").fetchone() == (None,)

    held = psycopg.connect(first, autocommit=True)
    try:
        postgres.restart()
        with pytest.raises(psycopg.OperationalError):  # what a worker sees: it must reconnect
            held.execute("SELECT 1")
    finally:
        held.close()
    with psycopg.connect(first) as conn:
        assert conn.execute("SELECT golfer FROM entries ORDER BY id").fetchall() == [("ada",), ("grace",)]


def test_kill_is_a_crash_that_keeps_committed_rows() -> None:
    with db_services.started() as server:  # its own server: the session one stays up
        url = server.new_database()
        assert server.proc is not None
        postmaster = server.proc.pid
        with psycopg.connect(url, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()
            conn.execute("CREATE TABLE t (n int)")
            for n in range(50):
                conn.execute("INSERT INTO t VALUES (%s)", (n,))
            server.kill()
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
        assert backend is not None
        assert not Path(f"/proc/{postmaster}").exists() and not Path(f"/proc/{backend[0]}").exists()
        server.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*), sum(n) FROM t").fetchone() == (50, sum(range(50)))
        assert "database system was interrupted" in server.log.read_text()
    assert not Path(server.dir).exists()


def test_browser_renders_a_page_from_a_local_server(browser_page: Page) -> None:
    page = "<!doctype html><title>Leaderboard</title><h1>Leaderboard</h1><p id='who'>ada: 71 B</p>"
    with serve({"/": page}) as base:
        response = browser_page.goto(f"{base}/")
        assert response is not None and response.status == 200
        assert browser_page.title() == "Leaderboard"
        assert browser_page.inner_text("#who") == "ada: 71 B"


def test_text_set_with_textcontent_shows_markup_as_text(browser_page: Page) -> None:
    hostile = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 1'><b>bold</b>"
    page = """<!doctype html><div id="safe"></div><div id="unsafe"></div><script>
      fetch("/entry.json").then(r => r.json()).then(entry => {
        document.getElementById("safe").textContent = entry.name;
        document.body.dataset.done = "1";
      });
    </script>"""
    with serve({"/": page, "/entry.json": json.dumps({"name": hostile})}) as base:
        browser_page.goto(f"{base}/")
        browser_page.wait_for_selector("body[data-done='1']")
        assert browser_page.inner_text("#safe") == hostile
        assert browser_page.locator("#safe *").count() == 0
        browser_page.wait_for_timeout(200)  # an onerror would have fired by now
        assert browser_page.evaluate("window.pwned") is None
        # The control: the same text as HTML does run, so the check above can see it.
        browser_page.evaluate("t => { document.getElementById('unsafe').innerHTML = t }", hostile)
        browser_page.wait_for_function("window.pwned === 1", timeout=5000)


def test_browser_reaches_no_host_by_name(browser_page: Page) -> None:
    with pytest.raises(PlaywrightError, match="ERR_NAME_NOT_RESOLVED"):
        browser_page.goto("http://example.com/", timeout=10_000)
