"""Every command line imagegolf prints as advice works when typed: the `run it:` lines after build
and push, and the `podman login` / `docker login` of a missing-credentials error.

Each printed line is split as a shell would (`&&` chains too) and run with the real program. The
test adds only what this host needs and a user's own machine does not: podman's private store and
runtime flags (tests/services.py `Podman`), the rlimit flags `podman run` needs here, and
`--network=none` for the test dockerd (it has no bridge). The user's environment — DOCKER_HOST,
XDG_RUNTIME_DIR, DOCKER_CONFIG — is given as a user's shell would have it. Prompts (`podman login`
asking for the password) are answered on a pseudo-terminal, as a user types them.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli.run_cli import Outcome, cli
from tests.registry_services import PASSWORD, USERNAME, DistributionRegistry
from tests.services import Dockerd, Podman

from imagegolf.cli.context import Context
from imagegolf.cli.main import main
from imagegolf.engine import Engine
from imagegolf.engine.podman_service import runtime_flags

pytestmark = pytest.mark.engine
MESSAGE = b"hello IDBS engineering\n"
BIN = str(Path(sys.executable).parent)  # where `imagegolf` is installed, as on a user's PATH
PODMAN_RUN_FLAGS = ["--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def cli_with_stdin(stdin: str, *argv: str, environ: dict[str, str] | None = None) -> Outcome:
    raw_out = io.BytesIO()
    out = io.TextIOWrapper(raw_out, encoding="utf-8", write_through=True)
    err = io.StringIO()
    ctx = Context(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=environ or {})
    code = main(list(argv), ctx)
    return Outcome(code, raw_out.getvalue(), err.getvalue())


def printed_commands(text: str) -> list[str]:
    """The command lines after `run it:` and `or:`."""
    return [m.group(1) for m in re.finditer(r"^\s*(?:run it|or):  (.+)$", text, re.MULTILINE)]


def hinted_commands(error: str) -> list[str]:
    """The command lines a hint quotes in backticks."""
    return re.findall(r"`([^`]+)`", error)


def in_a_terminal(argv: list[str], answers: dict[str, str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal, typing each answer after its prompt."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env, start_new_session=True
    )
    os.close(terminal)
    said, answered = b"", set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([controller], [], [], 0.2)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the program closed the terminal
                chunk = b""
            said += chunk
            for prompt, answer in answers.items():
                if prompt not in answered and said.rstrip().endswith(prompt.encode()):
                    os.write(controller, answer.encode() + b"\n")
                    answered.add(prompt)
            if chunk:
                continue
        if proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(controller)
    return proc.returncode, said.decode(errors="replace")


class Shell:
    """Runs printed command lines as typed, adding only this host's needs (module docstring)."""

    def __init__(self, env: dict[str, str], podman: Podman | None = None) -> None:
        self.env = {"PATH": f"{BIN}:{os.environ['PATH']}", **env}
        self.podman = podman

    def adapt(self, argv: list[str]) -> list[str]:
        if argv[0] == "podman":
            remote = "--url" in argv
            if not remote:
                assert self.podman is not None
                store = ["--root", f"{self.podman.dir}/root", "--runroot", f"{self.podman.dir}/run"]
                argv = [argv[0], *store, "--storage-driver", "overlay", *runtime_flags(), *argv[1:]]
            if "run" in argv:
                at = argv.index("run") + 1
                argv = [*argv[:at], *PODMAN_RUN_FLAGS, *argv[at:]]
        if argv[0] == "docker" and "run" in argv:
            at = argv.index("run") + 1
            argv = [*argv[:at], "--network=none", *argv[at:]]
        return argv

    def run(self, line: str, *, stdin: str = "", password: str = PASSWORD) -> bytes:
        """Every command of the line, in order, each having to succeed; the last one's stdout."""
        stdout = b""
        for command in line.split(" && "):
            argv = self.adapt(shlex.split(command))
            if argv[0] in ("podman", "docker") and "login" in argv and "--password-stdin" not in argv:
                code, said = in_a_terminal(argv, {"Username:": USERNAME, "Password:": password}, self.env)
                assert code == 0, f"{command}: {said}"
                continue
            done = subprocess.run(argv, input=stdin.encode(), capture_output=True, env=self.env, timeout=300)
            assert done.returncode == 0, f"{command}: {done.stderr.decode(errors='replace')[-2000:]}"
            stdout = done.stdout
        return stdout


def test_after_building_a_tar(tmp_path: Path, dockerd: Dockerd, fresh_podman: Podman) -> None:
    out = tmp_path / "with space" / "it's.tar"
    out.parent.mkdir()
    built = cli("build", "-o", str(out), "--name", "localhost/igtest-hint:tar")
    assert built.code == 0, built.stderr
    commands = printed_commands(built.text)
    assert commands == [
        f"imagegolf run {shlex.quote(str(out))}",
        f"podman load -i {shlex.quote(str(out))} && podman run --rm localhost/igtest-hint:tar",
    ]
    shell = Shell({"DOCKER_HOST": dockerd.url}, fresh_podman)
    for command in commands:
        assert shell.run(command) == MESSAGE, command


def test_after_building_an_oci_dir(tmp_path: Path, dockerd: Dockerd) -> None:
    built = cli("build", "--oci-dir", str(tmp_path / "layout"))
    assert built.code == 0, built.stderr
    (command,) = printed_commands(built.text)
    assert Shell({"DOCKER_HOST": dockerd.url}).run(command) == MESSAGE


def test_after_loading_into_docker(dockerd: Dockerd) -> None:
    name = "localhost/igtest-hint:load"
    built = cli("build", "--load", "--name", name, environ={"DOCKER_HOST": dockerd.url})
    assert built.code == 0, built.stderr
    (command,) = printed_commands(built.text)
    assert command == f"docker -H {dockerd.url} run --rm {name}"
    try:
        assert Shell({}).run(command) == MESSAGE  # no DOCKER_HOST needed: the line names the engine
    finally:
        dockerd.docker("rmi", "-f", name, check=False)


def test_after_loading_into_a_podman_service(podman_engine: Engine) -> None:
    name = "localhost/igtest-hint:podman"
    built = cli("build", "--load", "--name", name, environ={"DOCKER_HOST": podman_engine.url})
    assert built.code == 0, built.stderr
    (command,) = printed_commands(built.text)
    assert command == f"podman --url {podman_engine.url} run --rm {name}"
    assert Shell({}).run(command) == MESSAGE


def test_load_without_a_running_engine_refuses_instead_of_losing_the_image(tmp_path: Path) -> None:
    if os.path.exists("/var/run/docker.sock") or os.path.exists("/run/podman/podman.sock"):
        pytest.fail("this host runs an engine socket; the test needs a host without one")
    built = cli("build", "--load")
    assert built.code == 3
    assert "no container engine is running to keep the image" in built.stderr
    assert "run it:" not in built.text


@pytest.mark.parametrize("how", ["push", "build --push"])
def test_after_pushing_to_a_plain_http_registry(
    how: str, registry_open: DistributionRegistry, tmp_path: Path, dockerd: Dockerd, fresh_podman: Podman
) -> None:
    ref = f"{registry_open.host}/hints/open:{how.replace(' --', '-')}"
    if how == "push":
        assert cli("build", "-o", str(tmp_path / "x.tar")).code == 0
        done = cli("push", str(tmp_path / "x.tar"), ref)
    else:
        done = cli("build", "--push", ref)
    assert done.code == 0, done.stderr
    imagegolf, podman = printed_commands(done.text)
    pinned = imagegolf.split()[2]
    assert pinned.startswith(f"{registry_open.host}/hints/open@sha256:")
    assert podman == f"podman run --rm --tls-verify=false {pinned}"
    shell = Shell({"DOCKER_HOST": dockerd.url}, fresh_podman)
    assert shell.run(imagegolf) == MESSAGE
    assert shell.run(podman) == MESSAGE
    as_json = cli("push", str(tmp_path / "x.tar"), ref, "--json") if how == "push" else None
    if as_json is not None:
        assert json.loads(as_json.stdout)["run"] == [imagegolf, podman]


def test_after_pushing_with_a_username_and_password(
    registry_basic: DistributionRegistry, tmp_path: Path, dockerd: Dockerd, fresh_podman: Podman
) -> None:
    ref = f"{registry_basic.host}/hints/basic:1"
    pushed = cli_with_stdin(
        PASSWORD + "\n", "build", "--push", ref, "--username", USERNAME, "--password-stdin"
    )
    assert pushed.code == 0, pushed.stderr
    imagegolf, podman = printed_commands(pushed.text)
    pinned = imagegolf.split()[2]
    assert imagegolf == f"imagegolf run {pinned} --username {USERNAME} --password-stdin"
    assert podman == (
        f"podman login --tls-verify=false --username {USERNAME} {registry_basic.host} && "
        f"podman run --rm --tls-verify=false {pinned}"
    )
    runtime = tmp_path / "run"
    runtime.mkdir()  # podman login writes its auth.json there, where the podman run after it looks
    shell = Shell({"DOCKER_HOST": dockerd.url, "XDG_RUNTIME_DIR": str(runtime)}, fresh_podman)
    assert shell.run(imagegolf, stdin=PASSWORD + "\n") == MESSAGE
    assert shell.run(podman) == MESSAGE


def test_after_pushing_with_a_private_ca(registry_tls: DistributionRegistry, dockerd: Dockerd) -> None:
    assert registry_tls.ca_bundle is not None
    pushed = cli("build", "--push", f"{registry_tls.host}/hints/tls:1", "--ca-bundle", registry_tls.ca_bundle)
    assert pushed.code == 0, pushed.stderr
    (imagegolf,) = printed_commands(pushed.text)  # podman needs the CA in its certs.d first
    assert imagegolf.endswith(f"--ca-bundle {registry_tls.ca_bundle}")
    assert Shell({"DOCKER_HOST": dockerd.url}).run(imagegolf) == MESSAGE


def test_the_login_commands_of_a_missing_credentials_error(
    registry_basic: DistributionRegistry, tmp_path: Path, dockerd: Dockerd, fresh_podman: Podman
) -> None:
    tar = tmp_path / "x.tar"
    assert cli("build", "-o", str(tar)).code == 0
    ref = f"{registry_basic.host}/hints/login:1"
    refused = cli("push", str(tar), ref)
    assert refused.code == 2
    assert "flags: --username NAME --password-stdin" in refused.stderr and "--password/" not in refused.stderr
    podman_login, docker_login = hinted_commands(refused.stderr)
    assert podman_login == f"podman login --tls-verify=false {registry_basic.host}"
    assert docker_login == f"docker login {registry_basic.host}"

    runtime = tmp_path / "run"
    runtime.mkdir()
    podman_env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    Shell(podman_env, fresh_podman).run(podman_login)
    pushed = cli("push", str(tar), ref, environ=podman_env)
    assert pushed.code == 0, pushed.stderr
    imagegolf, podman_run = printed_commands(pushed.text)
    assert podman_run.startswith("podman run ")  # podman finds what `podman login` wrote
    shell = Shell({**podman_env, "DOCKER_HOST": dockerd.url}, fresh_podman)
    assert shell.run(imagegolf) == MESSAGE
    assert shell.run(podman_run) == MESSAGE

    docker_env = {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "DOCKER_HOST": dockerd.url,
        "HOME": str(tmp_path),
    }
    Shell(docker_env).run(docker_login)
    assert (tmp_path / "docker" / "config.json").is_file()
    assert cli("push", str(tar), ref, environ=docker_env).code == 0
