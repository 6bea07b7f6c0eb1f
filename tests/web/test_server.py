"""The app on a real socket (uvicorn), `imagegolf serve`, and a real registry notifying the hook."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imagegolf.cli.contest_args import tokens
from imagegolf.contest import Contest
from imagegolf.contest.service import parse_address
from imagegolf.db import Database
from imagegolf.errors import EnvironmentProblem, UsageError
from imagegolf.processes import LOOPBACK, free_port
from imagegolf.registry import open_registry
from imagegolf.web import create_app
from imagegolf.web.server import serve_in_thread
from tests.cli.run_cli import cli
from tests.registry_services import DistributionRegistry
from tests.web import seed
from tests.web.conftest import HOOK_TOKEN


def test_serve_in_thread_serves_on_loopback_and_stops(db: Database, contest: Contest) -> None:
    server = serve_in_thread(create_app(db))
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{server.url}/api/contest").json()["name"] == "golf"
        assert "Leaderboard" in httpx.get(f"{server.url}/").text
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/contest")
    server.stop()  # twice is fine


def test_each_connection_sends_without_waiting_for_acks(db: Database, contest: Contest) -> None:
    """TCP_NODELAY on every accepted connection: without it, a page written as head then body
    waits for the client's delayed ACK (40 ms on Linux) on a keep-alive connection."""
    with serve_in_thread(create_app(db)) as server, httpx.Client() as client:
        assert client.get(f"{server.url}/api/contest").status_code == 200  # the connection stays open
        (connection,) = server.server.server_state.connections
        sock = connection.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_port_in_use_is_a_clear_error(db: Database, contest: Contest) -> None:
    with serve_in_thread(create_app(db)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with pytest.raises(EnvironmentProblem, match=f"cannot listen on 127.0.0.1:{port}"):
            serve_in_thread(create_app(db), port=port)


def test_parse_address() -> None:
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("", "host:", "host:http", "1:70000"):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_tokens_from_files_or_the_environment(tmp_path: Path) -> None:
    import argparse

    token_file = tmp_path / "admin.token"
    token_file.write_text("from-the-file\n")
    args = argparse.Namespace(admin_token_file=str(token_file), hook_token_file=None)
    assert tokens(args, {"IMAGEGOLF_ADMIN_TOKEN": "env", "IMAGEGOLF_HOOK_TOKEN": "hook"}) == (
        "from-the-file",
        "hook",
    )
    assert tokens(argparse.Namespace(), {"IMAGEGOLF_ADMIN_TOKEN": " env "}) == ("env", None)
    assert tokens(argparse.Namespace(), {}) == (None, None)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        tokens(argparse.Namespace(admin_token_file=str(tmp_path / "empty")), {})


def test_serve_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    outcome = cli("serve", "--db", str(tmp_path / "missing.db"))
    assert outcome.code == 2
    assert "no contest database" in outcome.stderr and "contest init" in outcome.stderr
    assert not (tmp_path / "missing.db").exists()


@pytest.fixture
def serve_process(
    db: Database, contest: Contest, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {**os.environ, "IMAGEGOLF_ADMIN_TOKEN": "cli-admin-token-0123456789", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "imagegolf.cli", "serve", "--db", db.url.target, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("imagegolf: serving contest 'golf' on http://127.0.0.1:"), first
        yield process, first.split(" on ", 1)[1].strip().rstrip("/")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_imagegolf_serve_prints_its_url_and_stops_on_ctrl_c(
    serve_process: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = serve_process
    assert httpx.get(f"{url}/api/contest").json()["name"] == "golf"
    denied = httpx.post(
        f"{url}/api/admin/rejudge", json={"all": True}, headers={"Authorization": "Bearer no"}
    )
    assert denied.status_code == 401  # the admin token from the environment is on
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0


# -- Debian's docker-registry, configured to notify the served app -------------------------------------------


class NotifyingRegistry(DistributionRegistry):
    def __init__(self, hook_url: str) -> None:
        self.hook_url = hook_url
        super().__init__("open")

    def _configure(self) -> None:
        super()._configure()
        with (self.dir / "config.yml").open("a") as config:
            config.write(
                "notifications:\n  endpoints:\n    - name: imagegolf\n"
                f"      url: {self.hook_url}\n"
                f"      headers:\n        Authorization: [Bearer {HOOK_TOKEN}]\n"
                "      timeout: 2s\n      threshold: 3\n      backoff: 500ms\n"
                "      ignoredmediatypes:\n        - application/octet-stream\n"  # as docs/web.md shows
            )


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_a_real_registry_push_reaches_the_board_through_the_hook(db: Database, tmp_path: Path) -> None:
    port = free_port()
    registry = NotifyingRegistry(f"http://{LOOPBACK}:{port}/hooks/registry")
    # The hook asks the real registry whether it holds what each notification names.
    client = open_registry(registry.host)
    server = serve_in_thread(create_app(db, hook_token=HOOK_TOKEN, registry=client), port=port)
    try:
        registry.start()
        contest = seed.make_contest(db, repository=f"{registry.host}/contest")
        image = tmp_path / "record.tar"
        assert cli("build", "-o", str(image)).code == 0
        assert cli("push", str(image), f"{registry.host}/contest:alice").code == 0
        assert cli("push", str(image), f"{registry.host}/elsewhere:bob").code == 0  # another repository

        def submissions() -> list[dict[str, object]]:
            return httpx.get(f"{server.url}/api/submissions").json()["submissions"]  # type: ignore[no-any-return]

        wait_for(lambda: len(submissions()) == 1)
        [row] = submissions()
        assert (row["entrant"], row["tag"], row["via"], row["status"]) == ("alice", "alice", "hook", "QUEUED")
        assert cli("push", str(image), f"{registry.host}/contest:alice").code == 0  # the same push again
        time.sleep(1.5)
        assert len(submissions()) == 1
        assert contest.repository == "contest"
    finally:
        registry.stop()
        server.stop()
        client.close()
