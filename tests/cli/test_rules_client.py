"""The entrant's client of a contest's rules, without an engine or a registry: the address it
reads, the rules it accepts (what the server writes, the options the workers use), the errors
a person gets, the flags `judge --rules` refuses, and waiting for a verdict on a served contest."""

from __future__ import annotations

import argparse
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.run_cli import cli
from tests.web import seed

from imagegolf.cli import rules_client, submit
from imagegolf.cli.rules_client import ContestError, parse_rules, rules_url
from imagegolf.contest.judging import judge_options
from imagegolf.db import Database, open_database
from imagegolf.judge import Judgement, Verdict
from imagegolf.judge.boards import default_boards
from imagegolf.oci.metrics import SizeMetrics
from imagegolf.processes import LOOPBACK, free_port
from imagegolf.web import create_app
from imagegolf.web.rules_api import rules_json
from imagegolf.web.server import ServerHandle, serve_in_thread

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.mark.parametrize(
    ("given", "url", "site"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/rules", "http://127.0.0.1:8000/"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/api/rules", "http://127.0.0.1:8000/"),
        ("http://127.0.0.1:8000/rules", "http://127.0.0.1:8000/api/rules", "http://127.0.0.1:8000/"),
        ("http://127.0.0.1:8000/api/rules", "http://127.0.0.1:8000/api/rules", "http://127.0.0.1:8000/"),
        (
            "https://golf.example/idbs/?page=2",
            "https://golf.example/idbs/api/rules",
            "https://golf.example/idbs/",
        ),
    ],
)
def test_the_rules_are_found_from_the_contests_address(given: str, url: str, site: str) -> None:
    assert rules_url(given, "--contest") == (url, site)


@pytest.mark.parametrize("given", ["127.0.0.1:8000", "ftp://golf.example", "http://", ""])
def test_an_address_without_http_is_a_usage_error(given: str) -> None:
    result = cli("judge", "--rules", given, "image.tar", environ=NO_ENGINE)
    assert result.code == 2 and "http:// or https://" in result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(str(tmp_path / "contest.db"), retry_s=5.0) as database:
        yield database


def test_the_rules_the_server_writes_give_the_workers_options(db: Database) -> None:
    contest = seed.make_contest(
        db,
        match="exact",
        platform="linux/386",
        limits={"runs": 2, "timeout_s": 4.5, "cross_check": False, "runtime": "runsc"},
    )
    boards = default_boards(contest.metric)
    rules = parse_rules(json.loads(json.dumps(rules_json(contest, boards))), "u/api/rules", "u/")
    assert rules.options() == judge_options(contest)  # exactly what a contest worker judges with
    assert rules.options().runtime == "runsc"
    assert rules.boards == boards
    assert rules.entrant_for("alice") == "alice" and rules.push_to == "127.0.0.1:5000/contest:<tag>"


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"rules_version": 2}, "rules_version 2; this imagegolf"),
        ({"name": "golf"}, "without a rules_version"),
        ([1, 2], "without a rules_version"),
        ({"rules_version": 1, "contest": "golf"}, "malformed (KeyError"),
    ],
)
def test_rules_this_client_cannot_read_are_refused(doc: object, words: str) -> None:
    with pytest.raises(ContestError) as refused:
        parse_rules(doc, "http://x/api/rules", "http://x/")
    assert words in str(refused.value) and refused.value.exit_code == 2


class _Answer(http.server.BaseHTTPRequestHandler):
    """Whatever the test set: a web server that is not an imagegolf contest."""

    status = 200
    body = b"<html>a blog</html>"
    content_type = "text/html"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[tuple[str, type[_Answer]]]:
    handler = type("Answer", (_Answer,), {})
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "words"),
    [
        (200, b"<html>a blog</html>", "text/html", "with text/html, not JSON: not an imagegolf contest"),
        (404, b"nothing here", "text/plain", "404 Not Found: not an imagegolf contest"),
        (200, b'{"hello": "world"}', "application/json", "without a rules_version"),
        (200, b'{"rules_version": 7}', "application/json", "rules_version 7; this imagegolf"),
        (503, b'{"error": "no contest yet", "status": 503}', "application/json", "503: no contest yet"),
    ],
)
@pytest.mark.parametrize("command", ["judge", "submit"])
def test_an_address_that_is_not_a_contest_is_said_clearly(
    stranger: tuple[str, type[_Answer]], status: int, body: bytes, content_type: str, words: str, command: str
) -> None:
    url, answer = stranger
    answer.status, answer.body, answer.content_type = status, body, content_type
    argv = (
        ["judge", "--rules", url, "image.tar"]
        if command == "judge"
        else ["submit", "image.tar", "--contest", url]
    )
    result = cli(*argv, environ=NO_ENGINE)
    assert result.code == 2, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", ["judge", "submit"])
def test_an_unreachable_contest_exits_2_saying_so(command: str) -> None:
    url = f"http://{LOOPBACK}:{free_port()}"  # nobody listens there
    argv = (
        ["judge", "--rules", url, "image.tar"]
        if command == "judge"
        else ["submit", "image.tar", "--contest", url]
    )
    result = cli(*argv, environ=NO_ENGINE)
    assert result.code == 2
    assert f"cannot reach the contest's rules at {url}/api/rules" in result.stderr
    assert "is the address right" in result.stderr


@pytest.mark.parametrize(
    "flags",
    [
        ["--phrase", "hi"],
        ["--match", "line"],
        ["--runs", "1"],
        ["--timeout", "5"],
        ["--platform", "linux/386"],
        ["--no-cross-check"],
        ["--exit", "any"],
        ["--message", "files"],
        ["--metric", "pull_bytes"],
    ],
)
def test_judge_refuses_flags_the_rules_set(flags: list[str]) -> None:
    url = f"http://{LOOPBACK}:{free_port()}"  # refused before anything is asked
    result = cli("judge", "--rules", url, "image.tar", *flags, environ=NO_ENGINE)
    assert result.code == 2
    assert f"{flags[0]}: the contest's rules set this (with --rules); drop it" in result.stderr


def test_judge_without_rules_still_needs_a_phrase() -> None:
    result = cli("judge", "image.tar", environ=NO_ENGINE)
    assert result.code == 2 and "--phrase TEXT is required" in result.stderr


@pytest.fixture
def served(db: Database) -> Iterator[ServerHandle]:
    with serve_in_thread(create_app(db)) as server:
        yield server


def test_submit_asks_for_a_tag_when_the_tag_names_the_entrant(db: Database, served: ServerHandle) -> None:
    seed.make_contest(db, entrant_pattern=r"(?P<entrant>[a-z]+)")
    missing = cli("submit", "image.tar", "--contest", served.url, environ=NO_ENGINE)
    assert missing.code == 2 and "give your name with --tag NAME" in missing.stderr
    odd = cli("submit", "image.tar", "--contest", served.url, "--tag", "Amy2", environ=NO_ENGINE)
    assert odd.code == 2 and "--tag Amy2: the contest would ignore it" in odd.stderr


def test_submit_needs_an_account_for_per_entrant_repositories(db: Database, served: ServerHandle) -> None:
    seed.make_contest(db, identity="registry-user", repositories="per-entrant")
    environ = {**NO_ENGINE, "DOCKER_CONFIG": "/nonexistent", "REGISTRY_AUTH_FILE": "/nonexistent"}
    result = cli("submit", "image.tar", "--contest", served.url, environ=environ)
    assert (
        result.code == 2 and "a repository of their own" in result.stderr and "docker login" in result.stderr
    )


def judgement(verdict: Verdict, size: int = 73) -> Judgement:
    return Judgement("image.tar", verdict, "here", metrics=SizeMetrics(**seed.metrics(size)))


def test_waiting_follows_the_submission_until_the_contest_judges_it(
    db: Database, served: ServerHandle
) -> None:
    contest = seed.make_contest(db)
    rules, session = rules_client.fetch_rules(argparse.Namespace(), served.url, "--contest")
    said: list[str] = []

    def the_contest() -> None:  # the push is seen a moment later, then judged
        time.sleep(0.8)
        submission = seed.push(db, contest, "alice", "image-1")
        time.sleep(0.8)
        seed.judge(db, contest, submission, size=73)

    worker = threading.Thread(target=the_contest)
    worker.start()
    detail, timed_out = submit.wait_for_verdict(
        session, rules, seed.digest("image-1"), "alice", None, 30, said.append
    )
    worker.join()
    assert not timed_out and detail is not None
    assert (detail["status"], detail["size"], detail["place"]) == ("ACCEPTED", 73, 1)
    assert said[0].startswith("imagegolf: waiting for the contest to record alice")
    assert any(line.startswith("imagegolf: recorded as submission #1 (alice, tag alice)") for line in said)
    server = submit.server_json(rules, detail, timed_out)
    assert server["boards"] == {
        "board": {
            "status": "ACCEPTED",
            "reason": detail["reason"],
            "size": 73,
            "place": 1,
            "metric": "docker_classic",
        }
    } or set(server["boards"]) == {b.name for b in rules.boards}  # a contest with its boards
    assert server["url"] == f"{served.url}/submissions/1"
    assert submit.differences(judgement(Verdict.ACCEPTED), detail) == []
    assert submit.differences(judgement(Verdict.WRONG_OUTPUT), detail) == [
        f"verdict: WRONG_OUTPUT here, ACCEPTED at the contest ({detail['reason']})"
    ]
    assert submit.differences(judgement(Verdict.ACCEPTED, 71), detail)[0] == (
        "docker_classic: 71 bytes here, 73 at the contest"
    )


def test_a_verdict_that_never_comes_times_out(db: Database, served: ServerHandle) -> None:
    seed.make_contest(db)
    rules, session = rules_client.fetch_rules(argparse.Namespace(), served.url, "--contest")
    started = time.monotonic()
    detail, timed_out = submit.wait_for_verdict(
        session, rules, seed.digest("never"), "alice", None, 1.5, lambda _line: None
    )
    assert timed_out and detail is None and time.monotonic() - started < 5
