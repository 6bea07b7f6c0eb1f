"""Outgoing notifications with real parts: the contest's write path (record_push, derived.record)
causes them, the outbox holds them in SQLite or PostgreSQL, a sender POSTs them to a real HTTP
receiver on 127.0.0.1 that may be down, failing or slow, and a sender process is SIGKILLed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.contest import Contest, record_push
from imagegolf.contest.notify import add_webhook, check_url, remove_webhook, target, webhooks
from imagegolf.contest.notify_format import render
from imagegolf.contest.sender import Answer, Sender, SenderOptions, send_until_idle
from imagegolf.contest.settings import unfreeze
from imagegolf.db import Database
from imagegolf.db import notify as n
from imagegolf.db import queries as q
from imagegolf.db.clock import format_time, parse_time
from imagegolf.db.notify import DeliveryRow
from imagegolf.db.records import EventKind
from imagegolf.errors import UsageError
from imagegolf.judge.boards import Board
from imagegolf.platform import DEFAULT
from imagegolf.registry import open_registry
from tests.cli.run_cli import cli
from tests.contest.receiver import Receiver, Reply
from tests.registry_services import DistributionRegistry
from tests.services import Dockerd
from tests.web import seed

ONE_BOARD = (Board("main", "docker_classic"),)
FAST = SenderOptions(backoff_s=0.05, backoff_cap_s=0.2, jitter=0.0, idle_s=0.01, release_every_s=0.0)
GENERIC_KEYS = {
    "version", "id", "kind", "contest", "board", "entrant", "submission", "tag", "digest", "verdict",
    "status", "reason", "size", "metric", "previous_record", "boards", "rejudged", "page", "text", "at",
    "event",
}  # fmt: skip
SECRET = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def rows(db: Database, contest: Contest) -> list[DeliveryRow]:
    return list(reversed(db.run(lambda tx: n.deliveries(tx, contest.id, limit=10_000), write=False)))


def send_all(db: Database, options: SenderOptions = FAST) -> None:
    send_until_idle(db, options=options)


def test_a_new_record_is_one_delivery_per_format_in_its_documented_shape(
    db: Database, receiver: Receiver
) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    for fmt in ("generic", "slack", "discord"):
        add_webhook(db, contest, f"{receiver.url}/{fmt}", fmt=fmt, kinds=("record",),
                    site="https://golf.example/")  # fmt: skip
    bob = seed.push(db, contest, "bob", "bob-v1", minutes=1)
    seed.judge(db, contest, bob, size=5000)  # the first record
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=2)
    seed.judge(db, contest, alice, size=73)  # a new record: 73 < 5000
    tie = seed.push(db, contest, "bob", "bob-v2", minutes=3)
    seed.judge(db, contest, tie, size=73)  # a tie is no record
    carol = seed.push(db, contest, "carol", "carol-v1", minutes=4)
    seed.judge(db, contest, carol, "WRONG_OUTPUT", 60)  # smaller, but not accepted
    send_all(db)

    for fmt in ("generic", "slack", "discord"):
        got = receiver.at(f"/{fmt}")
        assert len(got) == 2, fmt  # exactly one per new record
        for request in got:
            assert request.headers["content-type"] == "application/json"
            assert request.headers["user-agent"].startswith("imagegolf/")
            assert request.headers["idempotency-key"].endswith(":record:main")
    generic = [r.json for r in receiver.at("/generic")]
    assert all(set(body) == GENERIC_KEYS for body in generic)
    first, second = generic
    assert (first["entrant"], first["size"], first["previous_record"]) == ("bob", 5000, None)
    assert (second["entrant"], second["submission"], second["size"]) == ("alice", alice, 73)
    assert second["previous_record"] == {"size": 5000, "entrant": "bob", "submission": bob}
    assert second["kind"] == "record" and second["board"] == "main" and second["metric"] == "docker_classic"
    assert second["page"] == f"https://golf.example/submissions/{alice}"
    assert second["id"] == receiver.at("/generic")[1].headers["idempotency-key"]
    assert "new record" in second["text"] and "5,000 B (bob)" in second["text"]
    parse_time(second["at"])  # the event's time, as stored

    # Slack's incoming webhook: {"text": …} plus optional blocks (a section and a context).
    slack = receiver.at("/slack")[1].json
    assert set(slack) == {"text", "blocks"} and isinstance(slack["text"], str) and slack["text"]
    assert [b["type"] for b in slack["blocks"]] == ["section", "context"]
    assert slack["blocks"][0]["text"] == {"type": "mrkdwn", "text": slack["text"]}
    assert len(slack["text"]) <= 3000
    assert f"<https://golf.example/submissions/{alice}|submission #{alice}>" in slack["text"]
    # Discord's execute webhook: {"content": …} that may mention nobody.
    discord = receiver.at("/discord")[1].json
    assert set(discord) == {"content", "allowed_mentions"}
    assert discord["allowed_mentions"] == {"parse": []} and 0 < len(discord["content"]) <= 2000
    assert f"<https://golf.example/submissions/{alice}>" in discord["content"]

    assert {r.state for r in rows(db, contest)} == {"delivered"}
    send_all(db)  # a delivered row is never sent again
    assert len(receiver.requests) == 6


def test_entrant_chosen_text_cannot_ping_or_format_a_channel() -> None:
    payload = {
        "kind": "first", "contest": "golf", "board": None, "entrant": "@everyone <!channel> & co",
        "submission": 7, "tag": "[x](https://evil.example)", "digest": "sha256:" + "a" * 64,
        "size": 73, "metric": "docker_classic", "page": None,
    }  # fmt: skip
    slack = json.loads(render("slack", payload))
    assert "<!channel>" not in slack["text"] and "&lt;!channel&gt; &amp; co" in slack["text"]
    discord = json.loads(render("discord", payload))
    assert discord["allowed_mentions"] == {"parse": []}
    assert "\\@everyone" in discord["content"] and "\\[x\\]\\(https" in discord["content"]
    long = dict(payload, kind="verdict", status="WRONG_OUTPUT", reason="x" * 5000, rejudged=False)
    assert len(json.loads(render("discord", long))["content"]) <= 2000
    assert len(json.loads(render("slack", long))["text"]) <= 3000


def test_first_accepted_once_per_entrant_and_every_verdict(db: Database, receiver: Receiver) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("first", "verdict"))
    wrong = seed.push(db, contest, "carol", "carol-v1", minutes=1)
    seed.judge(db, contest, wrong, "WRONG_OUTPUT", 80, reason="stdout lacks the phrase")
    first = seed.push(db, contest, "carol", "carol-v2", minutes=2)
    seed.judge(db, contest, first, size=90)
    second = seed.push(db, contest, "carol", "carol-v3", minutes=3)
    seed.judge(db, contest, second, size=80)
    seed.judge(db, contest, first, size=90, kind="rejudged")  # a re-judgement: a verdict, no first
    copy = seed.push(db, contest, "mallory", "carol-v3", minutes=4)  # the same image: a duplicate
    seed.judge(db, contest, copy, size=80)
    send_all(db)

    got = [(b["kind"], b["entrant"], b["submission"], b["status"], b["rejudged"])
           for b in (r.json for r in receiver.at("/hook"))]  # fmt: skip
    assert got == [
        ("verdict", "carol", wrong, "WRONG_OUTPUT", False),
        ("verdict", "carol", first, "ACCEPTED", False),
        ("first", "carol", first, "ACCEPTED", False),
        ("verdict", "carol", second, "ACCEPTED", False),
        ("verdict", "carol", first, "ACCEPTED", True),
        ("verdict", "mallory", copy, "REJECTED (duplicate)", False),
    ]
    bodies = [r.json for r in receiver.at("/hook")]
    assert bodies[0]["text"].endswith("was judged WRONG_OUTPUT: stdout lacks the phrase")
    assert bodies[0]["verdict"] == "WRONG_OUTPUT" and bodies[0]["boards"][0]["board"] == "main"
    assert "first accepted image" in bodies[2]["text"]
    assert bodies[5]["verdict"] == "ACCEPTED"  # the judge's own; the contest's rules made it a duplicate


def test_a_receiver_down_then_failing_gets_it_exactly_once_when_it_is_back(db: Database) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    down = Receiver()  # its port is reserved by nobody: connection refused
    add_webhook(db, contest, f"{down.url}/hook", kinds=("record", "verdict"))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)  # a verdict, then a record: two deliveries, in order
    sender = Sender(db, options=FAST)
    refused = sender.run_once()
    assert (
        refused is not None and refused.outcome == "retry" and "connection refused" in (refused.error or "")
    )
    hook = db.run(lambda tx: n.webhooks(tx, contest.id), write=False)[0]
    assert hook.retry_at is not None  # the webhook waits: its later delivery is not tried meanwhile
    assert sender.run_once() is None
    time.sleep(0.1)
    assert sender.run_once() is not None  # refused again (the first delivery: order is kept)
    assert [r.attempts for r in rows(db, contest)] == [2, 0]

    down.replies.extend([Reply(503, body=b"busy"), Reply(503, {"Retry-After": "0"}, b"busy")])
    down.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(r.state != "delivered" for r in rows(db, contest)):
            sender.run_once()
            time.sleep(0.02)
        assert [r.state for r in rows(db, contest)] == ["delivered", "delivered"]
        keys = [r.headers["idempotency-key"] for r in down.requests]
        assert [k.split(":")[3] for k in keys] == ["verdict", "verdict", "verdict", "record"]
        assert len(set(keys[:3])) == 1  # the same delivery, tried again: the same key and body
        assert len({r.body for r in down.requests[:3]}) == 1
        assert Counter(k for k in keys) == Counter({keys[0]: 3, keys[3]: 1})
        verdict = rows(db, contest)[0]
        assert verdict.attempts == 5 and verdict.last_status == 200 and verdict.last_error is None
        send_all(db)
        assert len(down.requests) == 4  # nothing delivered is sent again
    finally:
        down.stop()


def test_retry_after_is_honoured_and_a_client_error_fails_after_three_tries(
    db: Database, receiver: Receiver
) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, f"{receiver.url}/slow", kinds=("verdict",))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)
    receiver.replies.append(Reply(429, {"Retry-After": "30"}, b'{"retry_after": 30}'))
    sent = Sender(db, options=FAST).run_once()
    assert sent is not None and sent.outcome == "retry" and sent.status == 429
    assert sent.next_at is not None
    wait = (parse_time(sent.next_at) - dt.datetime.now(dt.UTC)).total_seconds()
    assert 25 < wait <= 30  # the receiver's 30 s, not the 0.05 s back-off
    assert Sender(db, options=FAST).run_once() is None

    remove_webhook(db, contest, webhooks(db, contest)[0].id)
    assert rows(db, contest)[0].state == "failed"  # given up with the webhook
    add_webhook(db, contest, f"{receiver.url}/gone", kinds=("verdict",))
    bob = seed.push(db, contest, "bob", "bob-v1", minutes=2)
    seed.judge(db, contest, bob, size=80)
    receiver.default = Reply(404, body=b"channel_not_found")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and rows(db, contest)[-1].state != "failed":
        Sender(db, options=FAST).run_once()
        time.sleep(0.02)
    failed = rows(db, contest)[-1]
    assert (failed.state, failed.attempts, failed.last_status) == ("failed", 3, 404)
    assert failed.last_error == "failed after 3 tries: HTTP 404: channel_not_found"
    assert len(receiver.at("/gone")) == 3


def test_a_killed_sender_loses_nothing_and_a_delivered_row_is_never_sent_again(
    db: Database, db_url: str, receiver: Receiver
) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("record",))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)
    receiver.hold = threading.Event()  # the first request waits: the sender is killed meanwhile
    process = subprocess.Popen(
        [sys.executable, "-m", "imagegolf.cli", "contest", "notify", "send", "--db", db_url,
         "--until-idle", "--lease", "7", "--timeout", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONPATH": "src"},
    )  # fmt: skip
    try:
        assert receiver.got.wait(30), "the sender process never sent"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    receiver.hold.set()
    receiver.hold = None
    held = rows(db, contest)[0]
    assert (held.state, held.attempts) == ("sending", 1)  # leased to a dead process
    sender = Sender(db, options=FAST)
    assert sender.run_once() is None  # its lease has not expired yet
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and rows(db, contest)[0].state != "delivered":
        sender.run_once()
        time.sleep(0.2)
    done = rows(db, contest)[0]
    assert (done.state, done.attempts) == ("delivered", 2)
    first, again = receiver.at("/hook")
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"] == done.idempotency_key
    assert first.body == again.body  # a receiver can drop the repeat by its key

    # A new sender, a process this time: nothing is due, nothing is sent.
    result = subprocess.run(
        [sys.executable, "-m", "imagegolf.cli", "contest", "notify", "send", "--db", db_url, "--until-idle"],
        capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONPATH": "src"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 tried, 0 delivered" in result.stdout
    assert len(receiver.requests) == 2


def test_an_expired_lease_is_claimed_again(db: Database, receiver: Receiver) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("verdict",))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)
    gone = db.run(lambda tx: n.claim(tx, "a sender that died before it posted", 0.3))
    assert gone is not None
    assert Sender(db, options=FAST).run_once() is None
    time.sleep(0.4)
    sent = Sender(db, options=FAST).run_once()
    assert sent is not None and sent.outcome == "delivered"
    assert len(receiver.requests) == 1 and rows(db, contest)[0].attempts == 2


def test_concurrent_senders_claim_each_delivery_once(db: Database) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, "http://127.0.0.1:9/a", kinds=("verdict",))
    add_webhook(db, contest, "http://127.0.0.1:9/b", kinds=("verdict",))
    for i in range(12):
        sid = seed.push(db, contest, f"e{i}", f"e{i}-v1", minutes=i)
        seed.judge(db, contest, sid, size=100 + i)
    sent: list[str] = []
    lock = threading.Lock()

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        time.sleep(0.01)
        with lock:
            sent.append(headers["Idempotency-Key"])
        return Answer(204, None)

    def run() -> None:
        Sender(db, options=FAST, send=post).run(threading.Event(), until_idle=True)
        db.close_thread()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send_until_idle(db, options=FAST)  # whatever a thread left when it found nothing due
    assert len(sent) == 24 and len(set(sent)) == 24
    assert {r.state for r in rows(db, contest)} == {"delivered"}


def test_a_frozen_submission_is_held_until_the_board_is_unfrozen(db: Database, receiver: Receiver) -> None:
    now = dt.datetime.now(dt.UTC)
    contest = seed.make_contest(
        db, boards=ONE_BOARD, freeze_at=format_time(now - dt.timedelta(hours=1)),
        ends_at=format_time(now + dt.timedelta(days=1)),
    )  # fmt: skip
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("record", "first", "verdict"))
    intake = record_push(db, contest, "alice", seed.digest("alice-v1"), via="poll")
    assert intake.submission_id is not None
    seed.judge(db, contest, intake.submission_id, size=73)
    assert {r.state for r in rows(db, contest)} == {"held"} and len(rows(db, contest)) == 3
    send_all(db)
    assert receiver.requests == []  # the public board hides it: so do the notifications
    unfreeze(db, contest, actor="admin")
    send_all(db)
    assert [r.json["kind"] for r in receiver.requests] == ["verdict", "first", "record"]


def test_several_boards_each_announce_their_own_record(db: Database, receiver: Receiver) -> None:
    contest = seed.make_contest(db)  # the default boards: classic, open, pull
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("record",))
    add_webhook(db, contest, f"{receiver.url}/pull", kinds=("record",), boards=("pull",))
    with pytest.raises(UsageError, match="no such board"):
        add_webhook(db, contest, f"{receiver.url}/x", kinds=("record",), boards=("nope",))
    bob = seed.push(db, contest, "bob", "bob-v1", minutes=1)
    seed.judge(db, contest, bob, size=5000)
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=2)
    seed.judge(db, contest, alice, size=73)
    send_all(db)
    assert [(r.json["entrant"], r.json["board"]) for r in receiver.at("/pull")] == [
        ("bob", "pull"),
        ("alice", "pull"),
    ]
    bodies = [r.json for r in receiver.at("/hook")]
    assert [(b["entrant"], b["board"]) for b in bodies] == [
        ("bob", "classic"), ("bob", "open"), ("bob", "pull"),
        ("alice", "classic"), ("alice", "open"), ("alice", "pull"),
    ]  # fmt: skip
    pull = bodies[5]
    assert (pull["metric"], pull["size"], pull["previous_record"]["size"]) == ("pull_bytes", 623, 5550)
    assert pull["id"].endswith(":record:pull") and "on the pull board" in pull["text"]


def test_webhooks_are_audited_and_their_urls_never_shown(db: Database, db_url: str) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    added = cli("contest", "notify", "add", f"https://hooks.slack.com{SECRET}", "--format", "slack",
                "--on", "record,verdict", "--db", db_url)  # fmt: skip
    assert added.code == 0, added.stderr
    assert "webhook #1: slack notifications on record, verdict to https://hooks.slack.com/…" in added.text
    plain = cli("contest", "notify", "add", "http://golf.example/hook", "--db", db_url)
    assert plain.code == 0 and "plain HTTP to golf.example" in plain.stderr
    assert cli("contest", "notify", "add", "ftp://x.example/", "--db", db_url).code == 2
    assert cli("contest", "notify", "add", "http://x.example/a", "--on", "nope", "--db", db_url).code == 2
    again = cli("contest", "notify", "add", f"https://hooks.slack.com{SECRET}", "--format", "slack",
                "--db", db_url)  # fmt: skip
    assert again.code == 2 and "already sends" in again.stderr
    listed = cli("contest", "notify", "list", "--json", "--db", db_url)
    data = json.loads(listed.text)
    assert [(w["id"], w["target"], w["on"]) for w in data["webhooks"]] == [
        (1, "https://hooks.slack.com", ["record", "verdict"]),
        (2, "http://golf.example", ["record", "first"]),
    ]
    removed = cli("contest", "notify", "remove", "2", "--db", db_url)
    assert removed.code == 0 and "webhook #2 (http://golf.example/…) removed" in removed.text
    assert cli("contest", "notify", "remove", "2", "--db", db_url).code == 2
    assert "golf.example" not in cli("contest", "notify", "list", "--db", db_url).text
    assert "REMOVED" in cli("contest", "notify", "list", "--all", "--db", db_url).text
    events = db.run(lambda tx: q.events(tx, contest.id, kinds=(EventKind.ADMIN,)), write=False)
    assert [e.data["action"] for e in events] == ["notification webhook added"] * 2 + [
        "notification webhook removed"
    ]
    everything = " ".join(json.dumps(e.data) for e in events) + added.text + listed.text + removed.text
    assert SECRET not in everything and "golf.example/hook" not in everything


def test_urls_are_checked() -> None:
    assert check_url("https://hooks.slack.com/services/a")[1] == []
    assert check_url("http://127.0.0.1:8080/x")[1] == []  # loopback: no warning
    assert check_url("http://localhost/x")[1] == []
    assert "plain HTTP" in check_url("http://10.0.0.1/x")[1][0]
    for bad in ("ftp://x/", "https://", "https://x/a b", "https://x/#frag", "https://x:99999/", "x.example"):
        with pytest.raises(UsageError):
            check_url(bad)
    assert target("https://user:pw@hooks.slack.com:443/services/T/B/X?q=1") == "https://hooks.slack.com:443"
    assert target("http://[::1]:8080/a") == "http://[::1]:8080"


def test_imagegolf_serve_sends_the_notifications(db: Database, db_url: str, receiver: Receiver) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, f"{receiver.url}/hook", kinds=("verdict",))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)
    server = subprocess.Popen(
        [sys.executable, "-m", "imagegolf.cli", "serve", "--db", db_url, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONPATH": "src"},
    )  # fmt: skip
    try:
        assert receiver.got.wait(30), "imagegolf serve sent nothing"
        # The receiver has the request; the server records the delivery once the 2xx is back. Wait
        # for that while it serves: stopping it in between is the at-least-once window (the
        # SIGKILL test covers it), not what this test is about.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and rows(db, contest)[0].state != "delivered":
            time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert [r.json["kind"] for r in receiver.requests] == ["verdict"]
    assert rows(db, contest)[0].state == "delivered"


def test_a_receiver_that_never_recovers_is_given_up_on(db: Database) -> None:
    contest = seed.make_contest(db, boards=ONE_BOARD)
    add_webhook(db, contest, "http://127.0.0.1:9/hook", kinds=("verdict",))
    alice = seed.push(db, contest, "alice", "alice-v1", minutes=1)
    seed.judge(db, contest, alice, size=73)
    patience = SenderOptions(backoff_s=0.01, backoff_cap_s=0.01, jitter=0.0, give_up_s=0.025)

    def busy(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        return Answer(502, "HTTP 502: bad gateway")

    sender = Sender(db, options=patience, send=busy)
    outcomes = []
    while (sent := sender.run_once()) is not None or rows(db, contest)[0].state == "queued":
        if sent is not None:
            outcomes.append(sent.outcome)
        time.sleep(0.015)
    assert outcomes == ["retry", "retry", "failed"]  # waited 0.01, 0.02, then 0.03 ≥ 0.025 s
    assert rows(db, contest)[0].last_error == "gave up after 0.025 s: HTTP 502: bad gateway"


def test_contest_watch_once_judges_for_real_and_notifies(
    db_url: str, registry_open: DistributionRegistry, dockerd: Dockerd, receiver: Receiver
) -> None:
    """The whole path: a real push, a real judgement by `contest watch --once` on dockerd, its
    worker's derived.record writing the outbox, and the watcher sending it before it exits."""
    repository = f"{registry_open.host}/notify{os.getpid() % 10_000}{len(db_url) % 97}"
    assert cli("contest", "init", "--db", db_url, "--repository", repository, "--runs", "1").code == 0
    added = cli("contest", "notify", "add", f"{receiver.url}/hook", "--on", "record,first,verdict",
                "--board", "classic", "--db", db_url)  # fmt: skip
    assert added.code == 0, added.stderr
    image = program_image(seed.PHRASE.encode() + b"\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    with open_registry(registry_open.host) as client:
        client.push_image(repository.split("/", 1)[1], image, "amy")
    watched = cli("contest", "watch", "--db", db_url, "--once", environ={"DOCKER_HOST": dockerd.url})
    assert watched.code == 0, watched.stderr
    assert "(verdict) → webhook #1: delivered" in watched.text
    bodies = [r.json for r in receiver.at("/hook")]
    assert [(b["kind"], b["entrant"], b["board"]) for b in bodies] == [
        ("verdict", "amy", "classic"),
        ("first", "amy", "classic"),
        ("record", "amy", "classic"),
    ]
    assert bodies[0]["verdict"] == "ACCEPTED" and bodies[2]["size"] == bodies[0]["size"] > 0
