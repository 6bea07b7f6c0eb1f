"""The adapter's pure parts, without a network: challenges, credentials, scheme rules, retry timing."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from imagegolf.errors import UsageError
from imagegolf.registry import RegistryUnreachable, open_registry
from imagegolf.registry.auth import parse_challenges
from imagegolf.registry.credentials import Credentials, find_credentials
from imagegolf.registry.retry import RetryPolicy, Transient, run_with_retries
from imagegolf.registry.transport import Transport, is_loopback, parse_retry_after, split_registry

SECRET = "hunter2-secret"


def test_challenges_with_quoted_commas_and_several_schemes() -> None:
    header = (
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push repository:c:pull", Basic realm="r\\"q"'
    )
    bearer, basic = parse_challenges(header)
    assert bearer.scheme == "bearer"
    assert bearer.get("realm") == "https://auth.example/token"
    assert bearer.get("scope") == "repository:a/b:pull,push repository:c:pull"
    assert (basic.scheme, basic.get("realm")) == ("basic", 'r"q')
    assert parse_challenges('basic realm=plain, error="x"')[0].params == (("realm", "plain"), ("error", "x"))
    assert parse_challenges("") == []


def test_credentials_explicit_then_environment(tmp_path: Path) -> None:
    given = find_credentials("r.example", username="u", password=SECRET, env={})
    assert (given.username, given.password, given.source) == ("u", SECRET, "the given username and password")
    env = {"IMAGEGOLF_REGISTRY_USERNAME": "e", "IMAGEGOLF_REGISTRY_PASSWORD": SECRET, "HOME": str(tmp_path)}
    from_env = find_credentials("r.example", env=env)
    assert from_env.username == "e" and "IMAGEGOLF_REGISTRY_USERNAME" in from_env.source
    with pytest.raises(UsageError):
        find_credentials("r.example", username="u", env={})
    with pytest.raises(UsageError):
        find_credentials("r.example", env={"IMAGEGOLF_REGISTRY_PASSWORD": SECRET})
    assert not find_credentials("r.example", env={"HOME": str(tmp_path)}).present
    for credentials in (given, from_env):
        assert SECRET not in repr(credentials)


def write_config(home: Path, body: dict[str, object]) -> dict[str, str]:
    (home / ".docker").mkdir(exist_ok=True)
    (home / ".docker" / "config.json").write_text(json.dumps(body))
    return {"HOME": str(home), "PATH": str(home / "bin")}


def test_docker_config_auths(tmp_path: Path) -> None:
    pair = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    env = write_config(
        tmp_path,
        {
            "auths": {
                "https://r.example:5000/v1/": {"auth": pair},
                "https://index.docker.io/v1/": {"username": "bob", "password": SECRET},
                "tok.example": {"identitytoken": "refresh"},
            }
        },
    )
    found = find_credentials("r.example:5000", env=env)
    assert (found.username, found.password) == ("alice", SECRET)
    assert "config.json auths['https://r.example:5000/v1/']" in found.source
    assert find_credentials("docker.io", env=env).username == "bob"
    assert find_credentials("tok.example", env=env).identity_token == "refresh"
    assert not find_credentials("other.example", env=env).present
    (tmp_path / ".docker" / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="docker config"):
        find_credentials("r.example:5000", env=env)


def fake_helper(home: Path, name: str, answer: dict[str, str] | None) -> None:
    """A docker-credential-<name> that answers ``get`` for r.example only."""
    bin_dir = home / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    reply = json.dumps(answer) if answer else ""
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f"[ \"$server\" = r.example ] && [ -n '{reply}' ] && {{ echo '{reply}'; exit 0; }}\n"
        "echo 'credentials not found in native keychain'; exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_credential_helpers(tmp_path: Path) -> None:
    pair = base64.b64encode(b"fallback:pw").decode()
    fake_helper(tmp_path, "igtest", {"ServerURL": "r.example", "Username": "carol", "Secret": SECRET})
    env = write_config(
        tmp_path, {"credHelpers": {"r.example": "igtest"}, "auths": {"r.example": {"auth": pair}}}
    )
    found = find_credentials("r.example", env=env)
    assert (found.username, found.password) == ("carol", SECRET)
    assert found.source == "the credential helper docker-credential-igtest"
    fake_helper(tmp_path, "igtest", None)  # knows nothing: the auths entry is used
    assert find_credentials("r.example", env=env).username == "fallback"
    env = write_config(tmp_path, {"credsStore": "absent", "auths": {"r.example": {"auth": pair}}})
    assert find_credentials("r.example", env=env).username == "fallback"  # no such helper installed
    fake_helper(tmp_path, "store", {"Username": "<token>", "Secret": "identity"})
    env = write_config(tmp_path, {"credsStore": "store"})
    token = find_credentials("r.example", env=env)
    assert token.identity_token == "identity" and token.present and token.username is None


def test_plain_http_only_for_loopback_or_insecure() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "a.localhost"):
        assert is_loopback(host), host
    for host in ("10.0.0.1", "example.com", "192.168.1.1", "::2", "localhost.example.com"):
        assert not is_loopback(host), host
    assert Transport("127.0.0.1:5000").schemes == ["https", "http"]
    assert Transport("[::1]:5000").schemes == ["https", "http"]
    assert Transport("registry.example").schemes == ["https"]
    assert Transport("registry.example", insecure=True).schemes == ["https", "http"]
    assert Transport("https://127.0.0.1:5000").schemes == ["https"]
    with pytest.raises(UsageError, match="plain HTTP"):
        Transport("http://registry.example")
    assert Transport("registry.example", ca_bundle="/ca.pem").verify == "/ca.pem"
    assert Transport("registry.example", insecure=True).verify is False
    with pytest.raises(UsageError):
        split_registry("https://r.example/path")
    with pytest.raises(UsageError):
        split_registry("user@r.example")


def test_open_registry_contacts_nothing_and_knows_docker_hub() -> None:
    client = open_registry("docker.io", env={})
    assert client.registry == "docker.io"
    assert client.transport.hostport == "registry-1.docker.io"
    client.close()
    client = open_registry("r.example", username="u", password=SECRET, env={})
    assert SECRET not in repr(client) and SECRET not in repr(client.auth.credentials)
    assert isinstance(client.auth.credentials, Credentials)


def test_retry_after_and_backoff() -> None:
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, max_retry_after=10.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, 60.0) == 10.0

    slept: list[float] = []
    calls: list[Transient | str] = [Transient("503", None), Transient("429", 2.0), "done"]

    def operation() -> str:
        value = calls.pop(0)
        if isinstance(value, Transient):
            raise value
        return value

    recording = RetryPolicy(base_delay=0.25, sleep=slept.append)
    assert run_with_retries(recording, operation, registry="r", what="x") == "done"
    assert slept == [0.25, 2.0]
    with pytest.raises(RegistryUnreachable, match="tried 2 times"):
        run_with_retries(
            RetryPolicy(attempts=2, sleep=slept.append),
            lambda: (_ for _ in ()).throw(Transient("down")),
            registry="r",
            what="x",
        )
