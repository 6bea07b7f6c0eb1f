"""Issue 3's acceptance through the CLI: build --push -> pull -> run, on all four registry set-ups.

Credentials travel the ways a user gives them: --username + --password-stdin, environment
variables, ~/.docker/config.json; the digest stays the same from build to pull; skopeo agrees.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.run_cli import Outcome, cli
from tests.registry_services import DistributionRegistry
from tests.services import Dockerd

from imagegolf.cli.context import Context
from imagegolf.cli.main import main

pytestmark = pytest.mark.engine
MESSAGE = b"hello IDBS engineering\n"


def cli_with_stdin(stdin: str, *argv: str, environ: dict[str, str] | None = None) -> Outcome:
    raw_out = io.BytesIO()
    out = io.TextIOWrapper(raw_out, encoding="utf-8", write_through=True)
    err = io.StringIO()
    ctx = Context(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=environ or {})
    code = main(list(argv), ctx)
    return Outcome(code, raw_out.getvalue(), err.getvalue())


def _access(registry: DistributionRegistry) -> tuple[list[str], str]:
    """CLI flags and stdin for this set-up: the CA bundle, and the password through stdin."""
    flags = ["--ca-bundle", registry.ca_bundle] if registry.ca_bundle else []
    if registry.credentials:
        return [*flags, "--username", registry.credentials[0], "--password-stdin"], registry.credentials[1]
    return flags, ""


def test_build_push_pull_run_round_trip(
    any_registry: DistributionRegistry, dockerd: Dockerd, tmp_path: Path
) -> None:
    ref = f"{any_registry.host}/contest/golfer:{any_registry.kind}"
    flags, password = _access(any_registry)
    built = cli_with_stdin(password, "build", "--json", "--push", ref, *flags)
    assert built.code == 0, built.stderr
    summary = json.loads(built.stdout)
    digest = summary["manifest_digest"]
    assert summary["output"] == f"registry:{any_registry.host}/contest/golfer@{digest}"

    pulled = cli_with_stdin(password, "pull", ref, "-o", str(tmp_path / "back.tar"), "--json", *flags)
    assert pulled.code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["digest"] == digest

    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", *any_registry.tool_flags(), f"docker://{ref}"],
        capture_output=True,
        check=True,
    ).stdout
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == digest

    ran = cli("run", str(tmp_path / "back.tar"), environ={"DOCKER_HOST": dockerd.url})
    assert (ran.code, ran.stdout) == (0, MESSAGE), ran.stderr


def test_push_then_inspect_and_run_by_reference(
    registry_basic: DistributionRegistry, dockerd: Dockerd, tmp_path: Path
) -> None:
    user, password = registry_basic.credentials or ("", "")
    env = {
        "IMAGEGOLF_REGISTRY_USERNAME": user,
        "IMAGEGOLF_REGISTRY_PASSWORD": password,
        "DOCKER_HOST": dockerd.url,
    }
    assert cli("build", "-o", str(tmp_path / "x.tar")).code == 0
    ref = f"{registry_basic.host}/contest/byref:1"
    pushed = cli("push", str(tmp_path / "x.tar"), ref, "--json", environ=env)
    assert pushed.code == 0, pushed.stderr
    digest = json.loads(pushed.stdout)["digest"]
    inspected = json.loads(cli("inspect", ref, "--json", environ=env).stdout)
    assert inspected["manifest_digest"] == digest
    assert inspected["metrics"]["pull_bytes"] == json.loads(pushed.stdout)["pull_bytes"]
    ran = cli("run", f"{registry_basic.host}/contest/byref@{digest}", environ=env)
    assert (ran.code, ran.stdout) == (0, MESSAGE), ran.stderr


def test_docker_config_json_credentials(registry_token: DistributionRegistry, tmp_path: Path) -> None:
    user, password = registry_token.credentials or ("", "")
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {registry_token.host: {"auth": auth}}}))
    result = cli(
        "build", "--push", f"{registry_token.host}/contest/cfg:1", environ={"DOCKER_CONFIG": str(config_dir)}
    )
    assert result.code == 0, result.stderr
    assert f"wrote    registry:{registry_token.host}/contest/cfg@sha256:" in result.text


def test_wrong_password_is_one_line_naming_the_registry(registry_basic: DistributionRegistry) -> None:
    user = (registry_basic.credentials or ("", ""))[0]
    result = cli_with_stdin(
        "not-the-password\n",
        "build",
        "--push",
        f"{registry_basic.host}/contest/x:1",
        "--username",
        user,
        "--password-stdin",
    )
    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and registry_basic.host in lines[0], result.stderr
    assert "not-the-password" not in result.stderr


def test_dead_registry_is_an_environment_error() -> None:
    from tests.registry_services import free_port

    result = cli("pull", f"127.0.0.1:{free_port()}/nobody/home:1", "-o", "/tmp/never.tar")
    assert result.code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
