"""`imagegolf submit` and `imagegolf judge --rules` against a contest served with real parts.

The organiser's side runs as processes, as in production: `contest init`, `contest entrant add`,
`contest registry` (Debian's docker-registry, its notifications sent to the hook) and `contest
watch --serve` (the web app, the poller and a worker judging with the tests' private dockerd).
The entrant's side is `python -m imagegolf.cli submit …` / `judge --rules …`, judging locally on
the same dockerd. Every tool is required: a missing one fails these tests, it never skips them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagegolf.cli import rules_client
from imagegolf.judge import MatchMode
from imagegolf.processes import LOOPBACK, free_port
from imagegolf.registry import open_registry
from tests.cli.run_cli import cli
from tests.contest.processes import IMAGEGOLF, Processes, listening, wait_for
from tests.contest.test_identity_story import PASSWORDS, open_contest
from tests.contest.test_identity_story import background as background  # the fixture, for per-entrant
from tests.judge.images import busybox_parts, write_oci_archive
from tests.services import Dockerd

pytestmark = pytest.mark.engine
PHRASE = "hello IDBS engineering"
HOOK_TOKEN = "submit-story-hook-token-0123456789abcdef"
TIMEOUT_S = 180


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


def imagegolf(*args: str, env: dict[str, str], stdin: str | None = None) -> Done:
    done = subprocess.run(
        [*IMAGEGOLF, *args],
        capture_output=True,
        env=env,
        timeout=TIMEOUT_S,
        input=None if stdin is None else stdin.encode(),
    )
    return Done(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


def ok(*args: str, env: dict[str, str], stdin: str | None = None) -> Done:
    done = imagegolf(*args, env=env, stdin=stdin)
    assert done.code == 0, done.stdout + done.stderr
    return done


@dataclass
class Served:
    web: str
    registry: str
    organiser: dict[str, str]
    entrant: dict[str, str]  # an entrant's environment: the dockerd, no credentials of the host's
    images: dict[str, Path]

    def submit(self, source: str, *args: str, account: str = "alice") -> Done:
        return imagegolf(
            "submit", str(self.images.get(source, source)), "--contest", self.web, *args,
            "--username", account, "--password-stdin",
            env=self.entrant, stdin=PASSWORDS[account],
        )  # fmt: skip

    def submissions(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.web}/api/submissions", timeout=10).json()["submissions"])

    def tag_digest(self, tag: str) -> str | None:
        with open_registry(self.registry, username="alice", password=PASSWORDS["alice"], env={}) as client:
            found = client.head_manifest("contest", tag)
        return None if found is None else str(found[0])


def entrant_env(base: Path, dockerd: Dockerd) -> dict[str, str]:
    config = base / "entrant-docker-config"
    config.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGOLF_", "REGISTRY_AUTH"))}
    return {
        **env,
        "DOCKER_HOST": dockerd.url,
        "DOCKER_CONFIG": str(config),
        "REGISTRY_AUTH_FILE": str(base / "no-auth.json"),
    }


def build_images(base: Path, env: dict[str, str]) -> dict[str, Path]:
    images = {"good": base / "good.tar", "longer": base / "longer.tar", "third": base / "third.tar"}
    ok("build", "-o", str(images["good"]), env=env)  # 71 B: the record
    ok("build", f"{PHRASE}!", "-o", str(images["longer"]), env=env)  # 72 B
    ok("build", f"{PHRASE}?", "-o", str(images["third"]), env=env)
    images["bad"] = write_oci_archive(base / "bad.tar", busybox_parts("echo goodbye"))
    return images


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, dockerd: Dockerd) -> Iterator[Served]:
    """One contest for the module (identity tag, a shared repository behind the registry's accounts)."""
    # A missing tool fails the tests (never skips them): the registry is Debian's docker-registry.
    assert shutil.which("docker-registry") or os.path.exists("/usr/bin/docker-registry"), (
        "docker-registry is not installed: sudo apt-get install docker-registry (scripts/setup.sh does)"
    )
    base = tmp_path_factory.mktemp("submit-story")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGOLF_")}
    env.update(
        IMAGEGOLF_DB=str(base / "contest.db"), IMAGEGOLF_HOOK_TOKEN=HOOK_TOKEN, DOCKER_HOST=dockerd.url
    )
    rport, wport = free_port(), free_port()
    registry, web = f"{LOOPBACK}:{rport}", f"http://{LOOPBACK}:{wport}"
    ok("contest", "init", "--repository", f"{registry}/contest", "--runs", "1", env=env)
    for name, password in PASSWORDS.items():
        ok("contest", "entrant", "add", name, "--password-stdin", env=env, stdin=password)
    processes = Processes(base)
    processes.start("contest", "registry", "--notify", web, "--storage", str(base / "registry"), env=env)
    processes.start("contest", "watch", "--serve", f"{LOOPBACK}:{wport}", "--interval", "2", env=env)
    try:
        wait_for(
            "the registry and the web server",
            lambda: processes.running() and listening(rport) and listening(wport),
        )
        yield Served(web, registry, env, entrant_env(base, dockerd), build_images(base, env))
    finally:
        processes.stop()


def test_judge_by_the_contests_rules_shows_each_board(served: Served) -> None:
    good = imagegolf("judge", "--rules", served.web, str(served.images["good"]), env=served.entrant)
    assert good.code == 0, good.stdout + good.stderr
    assert (
        "judging by the rules of contest 'imagegolf'" in good.stderr
        and "1 run of at most 10 s" in good.stderr
    )
    lines = good.stdout.splitlines()
    at = lines.index(f"{served.images['good']} on the contest's boards:")
    boards = {line.split()[0]: line.split() for line in lines[at + 1 : at + 4]}
    assert boards["classic"][1:4] == ["ACCEPTED", "71B", "(71)"]
    assert boards["open"][1] == "ACCEPTED" and boards["pull"][1] == "ACCEPTED"
    assert boards["pull"][-1] == "pull_bytes"

    bad = imagegolf(
        "judge", "--rules", f"{served.web}/rules", str(served.images["bad"]), "--json", env=served.entrant
    )
    assert bad.code == 1, bad.stderr
    [judged] = json.loads(bad.stdout)
    assert judged["verdict"] == "WRONG_OUTPUT" and judged["runs"][0]["stdout"] == "goodbye\n"
    assert len(judged["runs"]) == 1  # the contest's --runs 1
    assert {name: b["verdict"] for name, b in judged["boards"].items()} == {
        "classic": "WRONG_OUTPUT",
        "open": "WRONG_OUTPUT",
        "pull": "WRONG_OUTPUT",
    }

    refused = imagegolf(
        "judge", "--rules", served.web, str(served.images["good"]), "--runs", "3", env=served.entrant
    )
    assert refused.code == 2 and "--runs: the contest's rules set this" in refused.stderr


def test_a_bad_image_is_judged_here_and_never_pushed(served: Served) -> None:
    done = served.submit("bad", "--tag", "mallory")
    assert done.code == 1, done.stdout + done.stderr
    assert "judged   WRONG_OUTPUT here:" in done.stdout
    assert "not pushed: " in done.stderr and "accepted on none of the contest's boards" in done.stderr
    assert "pushed   " not in done.stdout
    assert served.tag_digest("mallory") is None  # the registry never saw it
    assert not any(s["tag"] == "mallory" for s in served.submissions())


def test_a_good_image_is_pushed_judged_by_the_contest_and_placed(served: Served) -> None:
    done = served.submit("good", "--tag", "alice")
    assert done.code == 0, done.stdout + done.stderr
    out = done.stdout
    assert "judged   ACCEPTED here:" in out
    assert f"pushed   {served.registry}/contest:alice" in out
    digest = served.tag_digest("alice")
    assert digest is not None and f"digest   {digest}" in out
    assert "contest  ACCEPTED: " in out and "submission #" in out and f"{served.web}/submissions/" in out
    board = out.splitlines()[out.splitlines().index("on the contest's boards:") + 1].split()
    assert board[0] in ("board", "classic")  # one board, or the first of the contest's boards
    assert board[1:] == ["ACCEPTED", "71B", "(71)", "place", "1"]
    assert "imagegolf: waiting for the contest to record alice" in done.stderr
    assert "imagegolf: recorded as submission #" in done.stderr
    [row] = [s for s in served.submissions() if s["tag"] == "alice"]
    assert (row["digest"], row["status"], row["place"]) == (digest, "ACCEPTED", 1)


def test_json_is_one_object_with_the_local_judgement_the_push_and_the_contests_result(served: Served) -> None:
    done = served.submit("longer", "--tag", "alice", "--json")  # 72 B: alice's 71 B stays her best
    assert done.code == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {
        "contest", "source", "local", "accepted_locally", "push", "server", "agrees", "differences", "exit",
    }  # fmt: skip
    assert report["contest"] == {
        "name": "imagegolf",
        "rules": f"{served.web}/api/rules",
        "site": f"{served.web}/",
    }
    assert report["local"]["verdict"] == "ACCEPTED" and report["accepted_locally"] is True
    assert report["local"]["metrics"]["docker_classic"] == 72
    assert report["local"]["boards"]["classic"] == {
        "verdict": "ACCEPTED",
        "reason": report["local"]["reason"],
        "size": 72,
        "metric": "docker_classic",
    }
    assert report["push"]["reference"] == f"{served.registry}/contest:alice"
    assert report["push"]["digest"] == served.tag_digest("alice")
    server = report["server"]
    assert (server["status"], server["verdict"], server["entrant"], server["tag"]) == (
        "ACCEPTED",
        "ACCEPTED",
        "alice",
        "alice",
    )
    assert server["digest"] == report["push"]["digest"] and server["metrics"] == report["local"]["metrics"]
    assert server["timed_out"] is False
    assert all(b["status"] == "ACCEPTED" for b in server["boards"].values())
    assert all(b["place"] is None for b in server["boards"].values())  # not alice's best
    assert (report["agrees"], report["differences"], report["exit"]) == (True, [], 0)


def test_no_wait_exits_after_the_push(served: Served) -> None:
    done = served.submit("third", "--tag", "nowait", "--no-wait")
    assert done.code == 0, done.stdout + done.stderr
    assert f"pushed   {served.registry}/contest:nowait" in done.stdout
    assert "contest  " not in done.stdout and "not waiting for the contest's verdict" in done.stderr
    digest = served.tag_digest("nowait")
    assert digest is not None
    judged = wait_for(
        "the pushed image judged",
        lambda: [s for s in served.submissions() if s["tag"] == "nowait" and s["status"] == "ACCEPTED"],
    )
    assert judged[0]["digest"] == digest


@pytest.mark.parametrize("repositories", ["per-entrant", "shared"])
def test_registry_accounts_submit_with_any_tag(
    tmp_path: Path, dockerd: Dockerd, background: Callable[..., Any], repositories: str
) -> None:
    """identity registry-user: the account is the entrant, the tag a label made from the digest;
    per-entrant: into the account's own repository."""
    _env, rport, web = open_contest(
        tmp_path, dockerd, background, "--identity", "registry-user", "--repositories", repositories
    )
    entrant = entrant_env(tmp_path, dockerd)
    image = tmp_path / "good.tar"
    ok("build", "-o", str(image), env=entrant)
    own = "/mallory" if repositories == "per-entrant" else ""
    assert httpx.get(f"{web}/api/rules", timeout=10).json()["push_to"] == (
        f"{LOOPBACK}:{rport}/contest{'/<you>' if own else ''}:<tag>"
    )
    done = imagegolf(
        "submit", str(image), "--contest", web, "--json", "--username", "mallory", "--password-stdin",
        env=entrant, stdin=PASSWORDS["mallory"],
    )  # fmt: skip
    assert done.code == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    digest = report["push"]["digest"]
    tag = f"submit-{digest[7:19]}"  # no --tag: made from the digest
    assert report["push"]["reference"] == f"{LOOPBACK}:{rport}/contest{own}:{tag}"
    stored = f"mallory:{tag}" if own else tag
    assert (report["server"]["entrant"], report["server"]["tag"]) == ("mallory", stored)
    assert report["server"]["status"] == "ACCEPTED" and report["agrees"] is True


def test_a_verdict_that_differs_from_the_local_one_exits_3(
    tmp_path: Path, dockerd: Dockerd, background: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contest matches exactly; a client that misread the rules as "contains" (a bug, or the
    rules changed under it) accepts an image the contest refuses: said loudly, exit 3."""
    _env, _rport, web = open_contest(tmp_path, dockerd, background, "--match", "exact")
    entrant = entrant_env(tmp_path, dockerd)
    image = tmp_path / "shout.tar"
    ok("build", f"{PHRASE}!", "-o", str(image), env=entrant)  # contains the phrase; not exactly it
    read = rules_client.parse_rules

    def misread(*args: Any) -> rules_client.Rules:
        return dataclasses.replace(read(*args), match=MatchMode.CONTAINS)

    monkeypatch.setattr(rules_client, "parse_rules", misread)
    credentials = {"IMAGEGOLF_REGISTRY_USERNAME": "alice", "IMAGEGOLF_REGISTRY_PASSWORD": PASSWORDS["alice"]}
    done = cli("submit", str(image), "--contest", web, "--tag", "alice", environ={**entrant, **credentials})
    assert done.code == 3, done.text + done.stderr
    assert "judged   ACCEPTED here:" in done.text and "contest  WRONG_OUTPUT: " in done.text
    assert "THE CONTEST'S VERDICT DIFFERS FROM THIS JUDGE'S" in done.stderr
    assert "verdict: ACCEPTED here, WRONG_OUTPUT at the contest" in done.stderr
