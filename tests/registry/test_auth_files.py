"""Credentials where the ecosystem keeps them: podman/skopeo/buildah's auth.json files (in the order
containers-auth.json(5) documents), then docker's config.json (read by docker-py), then anonymous.

The unit tests write the files by hand; the end-to-end tests let the real `podman login` and
`skopeo login` write them against the htpasswd and token registries, then push and pull with
imagegolf given nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from imagegolf.errors import UsageError
from imagegolf.registry import AuthenticationFailed, open_registry
from imagegolf.registry.credentials import (
    AUTH_FILE,
    DOCKER_CONFIG,
    DOCKER_STORE,
    auth_file_paths,
    auth_keys,
    find_credentials,
)
from tests.cli.run_cli import cli
from tests.registry_services import PASSWORD, USERNAME, DistributionRegistry

SECRET = "hunter2-auth-json-secret"


def pair(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def write_json(path: Path, body: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return path


def fake_helper(bin_dir: Path, name: str, server: str, answer: dict[str, str] | None) -> None:
    """A docker-credential-<name> that answers ``get`` for ``server`` only."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    reply = json.dumps(answer) if answer else ""
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f"[ \"$server\" = '{server}' ] && [ -n '{reply}' ] && {{ echo '{reply}'; exit 0; }}\n"
        "echo 'credentials not found in native keychain'; exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


# -- where the files are, and in which order ----------------------------------------------------


def test_the_files_in_the_documented_order(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert auth_file_paths({"HOME": home, "XDG_RUNTIME_DIR": "/run/user/7"}) == [
        Path("/run/user/7/containers/auth.json"),
        tmp_path / ".config/containers/auth.json",
    ]
    # REGISTRY_AUTH_FILE takes the primary file's place (podman's --authfile defaults to it)
    assert auth_file_paths(
        {"HOME": home, "XDG_RUNTIME_DIR": "/run/user/7", "REGISTRY_AUTH_FILE": "/a.json"}
    ) == [
        Path("/a.json"),
        tmp_path / ".config/containers/auth.json",
    ]
    # no XDG_RUNTIME_DIR: where `sudo podman login` writes
    assert auth_file_paths({"XDG_CONFIG_HOME": "/cfg"}) == [
        Path(f"/run/containers/{os.getuid()}/auth.json"),
        Path("/cfg/containers/auth.json"),
    ]
    assert auth_keys("r.example:5000", "a/b/c") == [
        "r.example:5000/a/b/c",
        "r.example:5000/a/b",
        "r.example:5000/a",
        "r.example:5000",
    ]


def test_the_first_file_that_knows_the_registry_wins(tmp_path: Path) -> None:
    run, config, docker = tmp_path / "run", tmp_path / "cfg", tmp_path / "docker"
    env = {"XDG_RUNTIME_DIR": str(run), "XDG_CONFIG_HOME": str(config), "DOCKER_CONFIG": str(docker)}
    write_json(docker / "config.json", {"auths": {"r.example": {"auth": pair("docker", SECRET)}}})
    assert find_credentials("r.example", env=env).username == "docker"
    assert find_credentials("r.example", env=env).kind == DOCKER_CONFIG
    write_json(config / "containers/auth.json", {"auths": {"r.example": {"auth": pair("config", SECRET)}}})
    assert find_credentials("r.example", env=env).username == "config"
    primary = write_json(
        run / "containers/auth.json", {"auths": {"r.example": {"auth": pair("run", SECRET)}}}
    )
    found = find_credentials("r.example", env=env)
    assert (found.username, found.password, found.kind) == ("run", SECRET, AUTH_FILE)
    assert found.source == f"{primary} auths['r.example']"
    override = write_json(
        tmp_path / "override.json", {"auths": {"r.example": {"auth": pair("file", SECRET)}}}
    )
    assert find_credentials("r.example", env={**env, "REGISTRY_AUTH_FILE": str(override)}).username == "file"
    # an override that does not know the registry: the search goes on, skipping the primary file
    write_json(override, {"auths": {"other.example": {"auth": pair("x", SECRET)}}})
    assert (
        find_credentials("r.example", env={**env, "REGISTRY_AUTH_FILE": str(override)}).username == "config"
    )
    # explicit and environment credentials come first
    assert find_credentials("r.example", username="u", password="p", env=env).username == "u"
    both = {**env, "IMAGEGOLF_REGISTRY_USERNAME": "e", "IMAGEGOLF_REGISTRY_PASSWORD": "p"}
    assert find_credentials("r.example", env=both).username == "e"


def test_the_most_specific_key_of_a_file_wins(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "auth.json",
        {
            "auths": {
                "r.example/team/app": {"auth": pair("app", SECRET)},
                "r.example/team": {"auth": pair("team", SECRET)},
                "r.example": {"auth": pair("host", SECRET)},
                "other.example/ns": {"auth": pair("ns-only", SECRET)},
            }
        },
    )
    env = {"REGISTRY_AUTH_FILE": str(path)}
    host = find_credentials("r.example", env=env)
    assert host.username == "host"
    assert host.for_repository("team/app").username == "app"
    assert host.for_repository("team/app/sub").username == "app"
    assert host.for_repository("team/other").username == "team"
    assert host.for_repository("solo").username == "host"
    assert find_credentials("r.example", repository="team/app", env=env).source.endswith(
        "auths['r.example/team/app']"
    )
    # a namespaced key is never a host key
    other = find_credentials("other.example", env=env)
    assert not other.present
    assert other.for_repository("ns/x").username == "ns-only"
    assert not other.for_repository("elsewhere").present


def test_keys_written_as_urls_and_docker_hub_aliases(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "auth.json",
        {
            "auths": {
                "https://r.example:5000/v1/": {"auth": pair("url", SECRET)},
                "https://index.docker.io/v1/": {"auth": pair("hub", SECRET)},
                "tok.example": {"auth": pair("ignored", ""), "identitytoken": "refresh"},
                "empty.example": {},
            }
        },
    )
    env = {"REGISTRY_AUTH_FILE": str(path)}
    assert find_credentials("r.example:5000", env=env).username == "url"
    assert find_credentials("docker.io", env=env).username == "hub"
    assert find_credentials("docker.io", env=env).for_repository("library/hello").username == "hub"
    token = find_credentials("tok.example", env=env)
    assert token.identity_token == "refresh" and token.present
    assert not find_credentials("empty.example", env=env).present  # a credential helper's marker


def test_cred_helpers_in_an_auth_file(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    path = write_json(
        tmp_path / "auth.json",
        {
            "credHelpers": {"r.example": "igfile"},
            "auths": {
                "r.example": {"auth": pair("never", SECRET)},
                "r.example/ns": {"auth": pair("ns", SECRET)},
            },
        },
    )
    docker = write_json(
        tmp_path / "docker/config.json", {"auths": {"r.example": {"auth": pair("docker", SECRET)}}}
    )
    env = {"REGISTRY_AUTH_FILE": str(path), "DOCKER_CONFIG": str(docker.parent), "PATH": str(bin_dir)}
    fake_helper(bin_dir, "igfile", "r.example", {"Username": "helped", "Secret": SECRET})
    found = find_credentials("r.example", env=env)
    assert (found.username, found.password) == ("helped", SECRET)
    assert found.source == "the credential helper docker-credential-igfile"
    # the helper answers for the whole host: the file's auths are not used, not even scoped ones
    assert found.for_repository("ns/app").username == "helped"
    fake_helper(bin_dir, "igfile", "r.example", None)  # it knows nothing: the next file is asked
    assert find_credentials("r.example", env=env).username == "docker"


def test_docker_config_through_docker_py(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    docker = tmp_path / "docker"
    env = {"DOCKER_CONFIG": str(docker), "PATH": str(bin_dir), "HOME": str(tmp_path)}
    write_json(docker / "config.json", {"credsStore": "igstore", "auths": {"r.example": {}}})
    fake_helper(bin_dir, "igstore", "r.example", {"Username": "stored", "Secret": SECRET})
    found = find_credentials("r.example", env=env)
    assert (found.username, found.kind) == ("stored", DOCKER_STORE)
    fake_helper(bin_dir, "igstore", "https://index.docker.io/v1/", {"Username": "hub", "Secret": SECRET})
    assert find_credentials("docker.io", env=env).username == "hub"  # helpers get the v1 URL for Hub
    write_json(docker / "config.json", {"auths": {"r.example": {"auth": "not base64!"}}})
    with pytest.raises(UsageError, match=r"auths\['r.example'\]: the auth field is not base64"):
        find_credentials("r.example", env=env)
    write_json(docker / "config.json", {"auths": {"r.example": "a string"}})
    with pytest.raises(UsageError, match="is not a JSON object"):
        find_credentials("r.example", env=env)


def test_secrets_stay_out_of_reprs_and_messages(tmp_path: Path) -> None:
    path = write_json(tmp_path / "auth.json", {"auths": {"r.example/ns": {"auth": pair("alice", SECRET)}}})
    env = {"REGISTRY_AUTH_FILE": str(path)}
    host = find_credentials("r.example", env=env)
    scoped = host.for_repository("ns/app")
    assert scoped.password == SECRET
    for credentials in (host, scoped):
        assert SECRET not in repr(credentials) and SECRET not in credentials.source
    no_colon = base64.b64encode(SECRET.encode()).decode()
    write_json(path, {"auths": {"r.example": {"auth": no_colon}}})
    assert not find_credentials("r.example", env=env).present  # not user:password: skipped, as podman does
    write_json(path, {"auths": {"r.example": {"auth": SECRET}}})  # not base64 at all
    with pytest.raises(UsageError, match=r"auths\['r.example'\]: the auth field is not base64") as bad:
        find_credentials("r.example", env=env)
    assert SECRET not in str(bad.value)
    path.write_text("{not json " + SECRET)
    with pytest.raises(UsageError, match="auth file") as unreadable:
        find_credentials("r.example", env=env)
    assert SECRET not in str(unreadable.value)


# -- the real clients write the files -----------------------------------------------------------


def login(tool: str, registry: DistributionRegistry, key: str, env: dict[str, str]) -> None:
    """`podman login` / `skopeo login` as a user types it, the password on stdin."""
    done = subprocess.run(
        [tool, "login", "--tls-verify=false", "--username", USERNAME, "--password-stdin", key],
        input=PASSWORD.encode(),
        capture_output=True,
        env={"PATH": os.environ["PATH"], **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def push_and_pull(registry: DistributionRegistry, ref: str, env: dict[str, str], tmp_path: Path) -> None:
    tar = tmp_path / "hello.tar"
    if not tar.exists():
        assert cli("build", "-o", str(tar)).code == 0
    pushed = cli("push", str(tar), ref, "--json", environ=env)
    assert pushed.code == 0, pushed.stderr
    pulled = cli("pull", ref, "-o", str(tmp_path / "back.tar"), "--json", environ=env)
    assert pulled.code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["digest"] == json.loads(pushed.stdout)["digest"]


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_podman_login_in_xdg_runtime_dir_then_push_and_pull(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    registry: DistributionRegistry = request.getfixturevalue(f"registry_{kind}")
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    login("podman", registry, registry.host, env)
    assert (runtime / "containers/auth.json").is_file()
    push_and_pull(registry, f"{registry.host}/files/podman:{kind}", env, tmp_path)
    found = find_credentials(registry.host, env=env)
    assert found.source == f"{runtime / 'containers/auth.json'} auths['{registry.host}']"


def test_skopeo_login_in_registry_auth_file_then_push_and_pull(
    registry_basic: DistributionRegistry, tmp_path: Path
) -> None:
    auth_file = tmp_path / "auth.json"
    env = {"REGISTRY_AUTH_FILE": str(auth_file), "HOME": str(tmp_path)}
    login("skopeo", registry_basic, registry_basic.host, env)
    push_and_pull(registry_basic, f"{registry_basic.host}/files/skopeo:1", env, tmp_path)
    anonymous = cli("push", str(tmp_path / "hello.tar"), f"{registry_basic.host}/files/skopeo:2", environ={})
    assert anonymous.code == 2 and "requires authentication" in anonymous.stderr


def test_a_repository_entry_wins_over_the_host_entry(
    registry_basic: DistributionRegistry, tmp_path: Path
) -> None:
    """`skopeo login HOST/ns/good` writes a repository-scoped entry; the host entry beside it holds a
    wrong password (written by hand: a login checks the password, so no login can store a wrong
    one). The scoped entry wins for its repository; the host entry answers for every other."""
    auth_file = tmp_path / "auth.json"
    env = {"REGISTRY_AUTH_FILE": str(auth_file), "HOME": str(tmp_path)}
    host = registry_basic.host
    login("skopeo", registry_basic, f"{host}/scoped/good", env)
    content = json.loads(auth_file.read_text())
    assert set(content["auths"]) == {f"{host}/scoped/good"}
    content["auths"][host] = {"auth": pair(USERNAME, "wrong-" + PASSWORD)}
    auth_file.write_text(json.dumps(content))

    push_and_pull(registry_basic, f"{host}/scoped/good:1", env, tmp_path)
    refused = cli("push", str(tmp_path / "hello.tar"), f"{host}/scoped/other:1", environ=env)
    assert refused.code == 2
    assert f"refused the credentials from {auth_file} auths['{host}']" in refused.stderr
    assert PASSWORD not in refused.stderr

    # the other way round: a right host entry from a login, a wrong scoped one — still the scoped wins
    auth_file.unlink()
    login("podman", registry_basic, host, env)
    content = json.loads(auth_file.read_text())
    content["auths"][f"{host}/scoped/bad"] = {"auth": pair(USERNAME, "wrong-" + PASSWORD)}
    auth_file.write_text(json.dumps(content))
    push_and_pull(registry_basic, f"{host}/scoped/fine:1", env, tmp_path)
    with open_registry(host, env=env) as client, pytest.raises(AuthenticationFailed) as failed:
        client.list_tags("scoped/bad")
    assert f"auths['{host}/scoped/bad']" in str(failed.value)
    assert PASSWORD not in str(failed.value) and PASSWORD not in repr(client)


def test_the_order_agrees_with_skopeo(registry_basic: DistributionRegistry, tmp_path: Path) -> None:
    """imagegolf and skopeo (Debian 12: containers/image 5.23) pick the same entry: the first file
    that knows the registry decides, and REGISTRY_AUTH_FILE replaces the primary file without
    ending the search (containers-auth.json(5); containers/image 5.24+ reads only the override)."""
    host = registry_basic.host
    tar = tmp_path / "hello.tar"
    assert cli("build", "-o", str(tar)).code == 0
    given = {"IMAGEGOLF_REGISTRY_USERNAME": USERNAME, "IMAGEGOLF_REGISTRY_PASSWORD": PASSWORD}
    assert cli("push", str(tar), f"{host}/order/app:1", environ=given).code == 0
    good, bad = {"auth": pair(USERNAME, PASSWORD)}, {"auth": pair(USERNAME, "wrong")}
    runtime, home = tmp_path / "run", tmp_path / "home"
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(home)}
    primary, config = runtime / "containers/auth.json", home / ".config/containers/auth.json"
    override = tmp_path / "override.json"
    by_override = {"REGISTRY_AUTH_FILE": str(override)}
    cases = [
        ({primary: {host: good}, config: {f"{host}/order/app": bad}}, {}, True),
        ({primary: {f"{host}/order/app": bad}, config: {host: good}}, {}, False),
        ({primary: {host: bad}, override: {}, config: {host: good}}, by_override, True),
        ({primary: {}, override: {host: bad}, config: {host: good}}, by_override, False),
    ]
    for files, extra, works in cases:
        for path, auths in files.items():
            write_json(path, {"auths": auths})
        skopeo = subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{host}/order/app:1"],
            capture_output=True,
            env={"PATH": os.environ["PATH"], **env, **extra},
            timeout=120,
        )
        ours = cli("inspect", f"{host}/order/app:1", "--json", environ={**env, **extra})
        assert (skopeo.returncode == 0, ours.code == 0) == (works, works), (files, extra, ours.stderr)
        for path in files:
            path.unlink()
