"""Every page renders, escapes what entrants control, and fails as a page (never a traceback)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

from imagegolf.contest import Contest
from imagegolf.db import Database
from imagegolf.judge.refusals import REFUSED
from imagegolf.judge.verdict import Verdict
from imagegolf.web.pages import STATUS_MEANINGS
from imagegolf.web.render import code_spans
from imagegolf.web.site import Site
from tests.web import seed
from tests.web.conftest import TestClient, client_for

PAGES = [
    "/",
    "/fragments/board",
    "/timeline",
    "/timeline?scale=log",
    "/timeline?scale=linear",
    "/rules",
    "/admin",
    "/api",
    "/entrants/alice",
    "/entrants/dave",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(client: TestClient, field: dict[str, int], path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("key", ["alice", "mallory", "carol", "dave"])
def test_submission_pages_render(client: TestClient, field: dict[str, int], key: str) -> None:
    answer = client.get(f"/submissions/{field[key]}")
    assert answer.status_code == 200
    assert f"Submission #{field[key]}" in answer.text


def test_the_board_shows_places_sizes_and_the_rest(client: TestClient, field: dict[str, int]) -> None:
    html = client.get("/").text
    board = html.split('class="leaderboard"')[1].split("</table>")[0]
    assert board.index(">alice<") < board.index(">bob<")
    assert "73 B" in board and "73B" in board and "sha256:" in board and "2026-05-01 09:02:00 UTC" in board
    assert f'href="/submissions/{field["alice"]}"' in board
    assert re.search(r'class="pending-count">1<', html)
    unranked = html.split('class="unranked"')[1].split("</ul>")[0]
    assert "mallory" in unranked and "carol" in unranked and "dave" in unranked
    assert "Latest events" in html and "<svg" in html
    assert 'data-live="/fragments/board?page=1"' in html and "/static/live.js?v=" in html


def test_the_submission_page_has_the_evidence(client: TestClient, field: dict[str, int]) -> None:
    html = client.get(f"/submissions/{field['carol']}").text
    assert "WRONG_OUTPUT" in html and "stdout lacks the phrase" in html
    assert '<pre class="stdout">hello world\n</pre>' in html
    assert '<pre class="explain">' in html and "&lt;not a tag&gt;" in html
    ranked = html.split('class="ranked"')[1].split("</tr>")[0]
    assert "docker_classic" in ranked and "ranked" in ranked
    for metric in ("containerd_content", "podman", "registry_compressed", "pull_bytes"):
        assert metric in html
    assert "application/vnd.oci.image.layer.v1.tar+gzip" in html  # the layers
    # The events, in public words: who judged it is "the judge", never a worker's host and process.
    events = html.split('class="events"')[1].split("</table>")[0]
    assert "the judge" in events and "WRONG_OUTPUT: stdout lacks the phrase" in events
    assert "worker:testhost" not in html and "testhost" not in html


def test_the_rules_page_says_the_rules(client: TestClient, contest: Contest) -> None:
    html = client.get("/rules").text
    for words in (
        seed.PHRASE,
        "contains the phrase",
        "docker_classic",
        seed.REPOSITORY,
        "the tag is the entrant",
        "Ties go to the submission first seen earlier",
        "duplicate",
        "100 submissions judged per entrant per rolling hour",
        "open: no start or end time",
    ):
        assert words in html, words
    for verdict in Verdict:
        assert verdict.value in html


def test_the_rules_page_and_the_rules_doc_list_everything_the_judge_refuses(client: TestClient) -> None:
    html = client.get("/rules").text
    rules_doc = (Path(__file__).parents[2] / "docs" / "judging.md").read_text()
    for what, why in REFUSED:
        assert f"- {what} — {why}." in rules_doc, what
        assert str(code_spans(what)) in html, what  # escaped, `x` shown as <code>x</code>
    assert "<code>.wh..wh.</code>" in html and "<code>/etc/hosts</code>" in html


def test_every_verdict_has_a_meaning() -> None:
    assert {v.value for v in Verdict} <= set(STATUS_MEANINGS)


def test_the_api_page_lists_the_endpoints(client: TestClient) -> None:
    html = client.get("/api").text
    for path in (
        "/api/board",
        "/api/version",
        "/api/admin/disqualify",
        "/api/admin/rejudge",
        "/hooks/registry",
        "/api/export.csv",
        "/openapi.json",
    ):
        assert path in html, path


def test_entrant_controlled_text_is_escaped(db: Database, contest: Contest) -> None:
    """A tag holding <script> (the default pattern takes any tag) and a stdout, stderr and note holding it."""
    evil = seed.push(db, contest, seed.XSS)
    seed.judge(db, contest, evil, size=60, stdout=seed.XSS, stderr=seed.XSS, notes=(seed.XSS,))
    with client_for(db) as client:
        for path in (
            "/",
            "/fragments/board",
            f"/submissions/{evil}",
            f"/entrants/{quote(seed.XSS, safe='')}",
            "/timeline",
            "/timeline.svg",
        ):
            html = client.get(path).text
            assert "<script>alert(1)</script>" not in html, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert client.get(f"/api/submissions/{evil}").json()["tag"] == seed.XSS  # JSON keeps the text as is


def test_unknown_things_are_404_pages(client: TestClient, field: dict[str, int]) -> None:
    for path in ("/submissions/999", "/entrants/nobody", "/no/such/page"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert "404" in answer.text and "Back to the leaderboard" in answer.text


def test_a_bad_query_is_a_400_page(client: TestClient) -> None:
    answer = client.get("/timeline?scale=cubic")
    assert answer.status_code == 400 and "invalid request" in answer.text


def test_static_files_are_served_locally(client: TestClient) -> None:
    for name, kind in (("imagegolf.css", "text/css"), ("live.js", "javascript"), ("admin.js", "javascript")):
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"]
    assert "http" not in client.get("/static/live.js").text.replace("https://", "").split("fetch")[0]


def test_the_fragment_carries_its_etag(client: TestClient, field: dict[str, int]) -> None:
    fragment = client.get("/fragments/board")
    tag = fragment.headers["x-imagegolf-etag"]
    assert tag == client.get("/api/version").json()["etag"] + ".1"  # the version's tag, page 1
    assert fragment.headers["etag"] == f'"{tag}"' and fragment.headers["cache-control"] == "no-cache"
    assert "<html" not in fragment.text and "leaderboard" in fragment.text
    # As live.js asks: nothing changed, a 304 without a body; an older version, the new one.
    same = client.get("/fragments/board", headers={"If-None-Match": f'"{tag}"'})
    assert same.status_code == 304 and same.content == b""
    older = client.get("/fragments/board", headers={"If-None-Match": '"0-0-0.1"'})
    assert older.status_code == 200 and older.headers["x-imagegolf-etag"] == tag


def test_a_server_fault_is_a_500_without_a_traceback(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = client.app.state.site  # type: ignore[attr-defined]

    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(site, "version", broken)
    api = client.get("/api/board")
    assert api.status_code == 500 and "a bug in imagegolf" in api.json()["error"]
    page = client.get("/")
    assert page.status_code == 500 and "a bug in imagegolf" in page.text
    for text in (api.text, page.text):
        assert "secret internals" not in text and "Traceback" not in text


def test_viewers_asking_at_once_share_one_render(db: Database, contest: Contest) -> None:
    """A room of viewers polling right after an event: one render, every one of them gets it."""
    site = Site(db)
    renders: list[int] = []
    started = threading.Event()

    def render() -> bytes:
        renders.append(1)
        started.set()
        time.sleep(0.3)  # the others arrive while it renders
        return b"<table>board v7</table>"

    with ThreadPoolExecutor(20) as pool:
        first = pool.submit(site.rendered, ("_board.html", "7.1"), render)
        started.wait(5)
        rest = [pool.submit(site.rendered, ("_board.html", "7.1"), render) for _ in range(19)]
        bodies = [first.result(), *(f.result() for f in rest)]
    assert renders == [1] and set(bodies) == {b"<table>board v7</table>"}
    assert site.rendered(("_board.html", "7.1"), render) == b"<table>board v7</table>" and renders == [1]


def test_a_failed_render_is_not_kept(db: Database, contest: Contest) -> None:
    site = Site(db)

    def broken() -> bytes:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        site.rendered(("_board.html", "8.1"), broken)
    assert site.rendered(("_board.html", "8.1"), lambda: b"ok") == b"ok"
