"""The whole story of issue 16 with real parts, as an organiser and two entrants would live it.

The organiser runs ``imagegolf contest init --identity registry-user``, makes accounts for alice
and mallory (``contest entrant add``), runs ``imagegolf contest registry`` (Debian's
docker-registry with those accounts, its notifications sent to the hook with the hook token) and
``imagegolf contest watch --serve``, each as its own process. mallory logs in with ``docker
login`` as mallory and pushes the tag ``alice``: the board credits mallory, never alice. A forged
notification (the hook token, a digest the repository does not hold) creates nothing. With
per-entrant repositories (imagegolf the registry's token server), mallory's push into alice's
repository is refused by the registry itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagegolf.processes import LOOPBACK, free_port
from tests.contest.processes import Processes, listening, wait_for
from tests.services import Dockerd, require

PHRASE = "hello IDBS engineering"
HOOK_TOKEN = "story-hook-token-0123456789abcdef"
ADMIN_TOKEN = "story-admin-token-0123456789abcdef"
PASSWORDS = {"alice": "alice-Pa55-word-0123", "mallory": "mallory-Pa55-word-4567"}
TIMEOUT_S = 120
FORGED = "sha256:" + "5e" * 32


def run(args: Sequence[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    done = subprocess.run(
        list(args),
        capture_output=True,
        env=env,
        timeout=TIMEOUT_S,
        input=None if stdin is None else stdin.encode(),
    )
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def imagegolf(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    code, said = run([sys.executable, "-m", "imagegolf.cli", *args], env, stdin)
    assert code == 0, said
    return said


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start imagegolf commands as processes of their own; stopped (SIGINT, as Ctrl-C) at the end."""
    processes = Processes(tmp_path)
    yield processes.start
    processes.stop()


class Docker:
    """The docker CLI against the tests' private dockerd, with a config directory of its own."""

    def __init__(self, dockerd: Dockerd, config: Path) -> None:
        config.mkdir()
        self.binary = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else require("docker")
        self.url = dockerd.url
        self.env = {**os.environ, "DOCKER_CONFIG": str(config)}

    def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str]:
        return run([self.binary, "-H", self.url, *args], self.env, stdin)


def organiser_env(tmp_path: Path, dockerd: Dockerd) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGOLF_")}
    return {
        **env,
        "IMAGEGOLF_DB": str(tmp_path / "contest.db"),
        "IMAGEGOLF_HOOK_TOKEN": HOOK_TOKEN,
        "IMAGEGOLF_ADMIN_TOKEN": ADMIN_TOKEN,
        "DOCKER_HOST": dockerd.url,
    }


def open_contest(
    tmp_path: Path, dockerd: Dockerd, background: Callable[..., Any], *init: str
) -> tuple[dict[str, str], int, str]:
    """init + accounts + `contest registry` + `contest watch --serve`: (env, registry port, web URL)."""
    env = organiser_env(tmp_path, dockerd)
    rport, wport = free_port(), free_port()
    imagegolf("contest", "init", "--repository", f"{LOOPBACK}:{rport}/contest", "--runs", "1", *init, env=env)
    for name, password in PASSWORDS.items():
        said = imagegolf("contest", "entrant", "add", name, "--password-stdin", env=env, stdin=password)
        assert "account created" in said
    listed = imagegolf("contest", "entrant", "list", "--json", env=env)
    assert json.loads(listed)["entrants"] == ["alice", "mallory"]
    web = f"http://{LOOPBACK}:{wport}"
    background("contest", "registry", "--notify", web, "--storage", str(tmp_path / "registry"), env=env)
    background("contest", "watch", "--serve", f"{LOOPBACK}:{wport}", "--interval", "2", env=env)
    wait_for("the registry and the web server", lambda: listening(rport) and listening(wport))
    return env, rport, web


def built_image(tmp_path: Path, docker: Docker, env: dict[str, str]) -> str:
    name = "localhost/story:built"
    imagegolf("build", PHRASE, "-o", str(tmp_path / "image.tar"), "--name", name, env=env)
    code, said = docker("load", "-i", str(tmp_path / "image.tar"))
    assert code == 0, said
    return name


def login_and_push(docker: Docker, who: str, registry: str, local: str, ref: str) -> tuple[int, str]:
    code, said = docker("login", "-u", who, "--password-stdin", registry, stdin=PASSWORDS[who])
    assert code == 0, said
    code, said = docker("tag", local, ref)
    assert code == 0, said
    return docker("push", ref)


def submissions(web: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{web}/api/submissions", timeout=10).json()["submissions"])


def test_registry_user_mallory_pushing_tag_alice_is_credited_to_mallory(
    tmp_path: Path, dockerd: Dockerd, background: Callable[..., Any]
) -> None:
    env, rport, web = open_contest(tmp_path, dockerd, background, "--identity", "registry-user")
    docker = Docker(dockerd, tmp_path / "mallory-docker")
    local = built_image(tmp_path, docker, env)
    registry = f"{LOOPBACK}:{rport}"
    ref = f"{registry}/contest:alice"
    try:
        code, said = login_and_push(docker, "mallory", registry, local, ref)
        assert code == 0, said
        judged = wait_for(
            "mallory's push judged",
            lambda: [s for s in submissions(web) if s["status"] not in ("QUEUED", "JUDGING", "RETRYING")],
        )
    finally:
        docker("rmi", "--force", ref, local)
    [row] = judged
    assert (row["entrant"], row["tag"], row["via"], row["status"]) == ("mallory", "alice", "hook", "ACCEPTED")
    board = httpx.get(f"{web}/api/board", timeout=10).json()
    on_board = json.dumps(board)
    assert '"mallory"' in on_board and '"alice"' not in on_board.replace('"tag": "alice"', "")

    # A notification the registry does not back: the hook token, alice as the actor, a digest the
    # repository does not hold. 202 (sending it again changes nothing), and nothing recorded.
    forged = {
        "events": [
            {
                "id": "forged-1",
                "action": "push",
                "actor": {"name": "alice"},
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": FORGED,
                    "repository": "contest",
                    "tag": "alice",
                    "url": f"http://{registry}/v2/contest/manifests/{FORGED}",
                },
            }
        ]
    }
    answer = httpx.post(
        f"{web}/hooks/registry",
        json=forged,
        headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["pushes"][0]["note"].startswith("not recorded: "), answer.text
    assert [s["entrant"] for s in submissions(web)] == ["mallory"]
    # Without the token, the hook does not even look.
    assert httpx.post(f"{web}/hooks/registry", json=forged, timeout=10).status_code == 401

    # Accounts change while the registry runs: carol can log in, then, removed, no longer.
    carol = "carol-Pa55-word-8901"
    imagegolf("contest", "entrant", "add", "carol", "--password-stdin", env=env, stdin=carol)
    login = ("login", "-u", "carol", "--password-stdin", registry)
    wait_for("carol's account in the registry", lambda: docker(*login, stdin=carol)[0] == 0, 30)
    imagegolf("contest", "entrant", "remove", "carol", env=env)
    wait_for("carol's account gone", lambda: docker(*login, stdin=carol)[0] != 0, 30)


def test_per_entrant_the_registry_refuses_mallory_in_alices_repository(
    tmp_path: Path, dockerd: Dockerd, background: Callable[..., Any]
) -> None:
    env, rport, web = open_contest(
        tmp_path, dockerd, background, "--identity", "registry-user", "--repositories", "per-entrant"
    )
    docker = Docker(dockerd, tmp_path / "mallory-docker")
    local = built_image(tmp_path, docker, env)
    registry = f"{LOOPBACK}:{rport}"
    theirs, own = f"{registry}/contest/alice:v1", f"{registry}/contest/mallory:v1"
    try:
        code, said = login_and_push(docker, "mallory", registry, local, theirs)
        assert code != 0 and ("denied" in said or "unauthorized" in said), said
        code, said = login_and_push(docker, "mallory", registry, local, own)
        assert code == 0, said
        [row] = wait_for("mallory's own push recorded", lambda: submissions(web))
    finally:
        docker("rmi", "--force", theirs, own, local)
    assert (row["entrant"], row["tag"]) == ("mallory", "mallory:v1")
    assert not any(s["entrant"] == "alice" for s in submissions(web))
