"""imagegolf as the registry's token server, with real parts: a contest with per-entrant repositories
in SQLite, its web app on 127.0.0.1, Debian's docker-registry (distribution 2.8.2) configured with
``auth: token:`` pointing at the app's ``/auth/token``, and the clients entrants use — podman,
docker (the private dockerd), imagegolf's own — plus the judge's credentials.

alice and mallory are entrants; the contest's repository is ``contest``, so alice's is
``contest/alice``. The registry itself must refuse alice's push into ``contest/mallory``.
Every tool is required: a missing one fails the test (tests/services.py ``require``).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from imagegolf import oci
from imagegolf.contest import Contest, create_contest
from imagegolf.contest.accounts import add_entrant, hash_password, htpasswd
from imagegolf.contest.signing import signing_key
from imagegolf.contest.tokens import ISSUER, JUDGE_ACCOUNT, TOKEN_TTL_S, judge_credentials, service_name
from imagegolf.db import Database, open_database
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.platform import LINUX_AMD64
from imagegolf.processes import free_port
from imagegolf.ref import Reference
from imagegolf.registry import AuthenticationFailed, RegistryRefused, open_registry
from imagegolf.registry.local import LocalRegistry, TokenAuth
from imagegolf.web import create_app
from imagegolf.web.server import ServerHandle, serve_in_thread
from tests.cli.run_cli import cli
from tests.registry_services import write_tls_files
from tests.services import Dockerd, Podman, require

PHRASE = "hello IDBS engineering"
PASSWORDS = {"alice": "alice-Pa55-word-0123", "mallory": "mallory-Pa55-word-4567"}
TIMEOUT_S = 120
REFUSED = (
    "denied",
    "unauthorized",
    "authentication required",
    "insufficient_scope",
    "invalid username/password",
)


@dataclass
class Contestants:
    db: Database
    contest: Contest
    server: ServerHandle
    registry: LocalRegistry
    root: Path
    image_tar: Path  # a tiny image built by imagegolf, loadable by docker and podman
    local_name: str  # its name once loaded

    @property
    def token_url(self) -> str:
        return f"{self.server.url}/auth/token"

    def ref(self, entrant: str, tag: str) -> str:
        return f"{self.registry.host}/contest/{entrant}:{tag}"

    def tags(self, entrant: str) -> list[str]:
        """The tags of ``contest/<entrant>``, read with the judge's credentials."""
        account, password = judge_credentials(self.db, self.contest)
        with open_registry(self.registry.host, username=account, password=password, env={}) as client:
            return client.list_tags(f"contest/{entrant}")


@pytest.fixture(scope="module")
def contestants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Contestants]:
    root = tmp_path_factory.mktemp("tokens")
    port = free_port()
    with open_database(str(root / "contest.db"), retry_s=10.0) as db:
        contest = create_contest(
            db, name="golf", phrase=PHRASE, repository=f"127.0.0.1:{port}/contest", repositories="per-entrant"
        )
        for name, password in PASSWORDS.items():
            add_entrant(db, contest, name, password, actor="test")
        _key, certificate = signing_key(db, contest.id)
        bundle = root / "token-ca.pem"
        bundle.write_text(certificate)
        local_name = "localhost/igtokens:latest"
        built = cli("build", PHRASE, "-o", str(root / "image.tar"), "--name", local_name)
        assert built.code == 0, built.stderr
        with serve_in_thread(create_app(db)) as server:
            auth = TokenAuth(
                realm=f"{server.url}/auth/token",
                service=service_name(contest),
                issuer=ISSUER,
                rootcertbundle=bundle,
            )
            with LocalRegistry(root / "registry", port=port, token=auth) as registry:
                yield Contestants(db, contest, server, registry, root, root / "image.tar", local_name)


def run(
    args: Sequence[str], *, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str]:
    done = subprocess.run(
        list(args),
        capture_output=True,
        env=env,
        input=stdin.encode() if stdin is not None else None,
        timeout=TIMEOUT_S,
    )
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def refused(said: str) -> bool:
    return any(word in said.lower() for word in REFUSED)


# -- the token endpoint over HTTP --------------------------------------------------------------------


def test_the_registry_sends_clients_to_imagegolf(contestants: Contestants) -> None:
    answer = requests.get(f"{contestants.registry.url}/v2/contest/alice/tags/list", timeout=10)
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{contestants.token_url}"' in challenge
    assert f'service="{service_name(contestants.contest)}"' in challenge
    assert 'scope="repository:contest/alice:pull"' in challenge


def test_a_token_for_alice_grants_her_repository_only(contestants: Contestants) -> None:
    service = service_name(contestants.contest)
    answer = requests.get(
        contestants.token_url,
        params=[
            ("service", service),
            ("scope", "repository:contest/alice:pull,push,delete"),
            ("scope", "repository:contest/mallory:pull,push repository:contest:pull"),
            ("scope", "registry:catalog:*"),
            ("scope", "not a scope"),
            ("account", "mallory"),  # the client's word is not taken: the credentials are alice's
            ("offline_token", "true"),
            ("client_id", "test"),
        ],
        auth=("alice", PASSWORDS["alice"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}  # no refresh_token
    assert body["token"] == body["access_token"] and body["expires_in"] == TOKEN_TTL_S
    assert body["issued_at"].endswith("Z")
    certificate = x509.load_pem_x509_certificate(
        signing_key(contestants.db, contestants.contest.id)[1].encode()
    )
    claims = jwt.decode(body["token"], public_key(certificate), algorithms=["ES256"], audience=service)
    assert claims["iss"] == ISSUER and claims["sub"] == "alice"
    assert claims["access"] == [{"type": "repository", "name": "contest/alice", "actions": ["pull", "push"]}]


def test_anonymous_gets_a_token_that_grants_nothing(contestants: Contestants) -> None:
    answer = requests.get(
        contestants.token_url,
        params={"service": service_name(contestants.contest), "scope": "repository:contest/alice:pull"},
        timeout=10,
    )
    assert answer.status_code == 200
    claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
    assert claims["access"] == [] and claims["sub"] == ""
    # and the registry refuses what it was for
    pulled = requests.get(
        f"{contestants.registry.url}/v2/contest/alice/tags/list",
        headers={"Authorization": f"Bearer {answer.json()['token']}"},
        timeout=10,
    )
    assert pulled.status_code == 401 and "insufficient_scope" in pulled.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "auth",
    [("alice", "wrong-password"), ("nobody", "whatever-password"), (JUDGE_ACCOUNT, "0" * 64), ("alice", "")],
)
def test_wrong_credentials_are_a_401(contestants: Contestants, auth: tuple[str, str]) -> None:
    answer = requests.get(
        contestants.token_url,
        params={"service": service_name(contestants.contest), "scope": "repository:contest/alice:pull"},
        auth=auth,
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="imagegolf"'
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert auth[1] not in answer.text or not auth[1]


def test_a_wrong_service_is_a_400(contestants: Contestants) -> None:
    answer = requests.get(
        contestants.token_url,
        params={"service": "registry.docker.io"},
        auth=("alice", PASSWORDS["alice"]),
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_the_oauth2_password_grant(contestants: Contestants) -> None:
    service = service_name(contestants.contest)
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORDS["alice"],
        "service": service,
        "client_id": "test",
        "access_type": "offline",
        "scope": "repository:contest/alice:push,pull repository:contest/mallory:push",
    }
    answer = requests.post(contestants.token_url, data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == "repository:contest/alice:push,pull" and "refresh_token" not in body
    assert answer.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "contest/alice", "actions": ["push", "pull"]}]

    wrong = requests.post(contestants.token_url, data={**form, "password": "not-hers-at-all"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"
    refresh = requests.post(
        contestants.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "x", "service": service, "client_id": "t"},
        timeout=10,
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "unsupported_grant_type"
    other = requests.post(contestants.token_url, data={**form, "service": "elsewhere"}, timeout=10)
    assert other.status_code == 400


def test_the_judge_logs_in_with_the_password_made_from_the_key(contestants: Contestants) -> None:
    account, password = judge_credentials(contestants.db, contestants.contest)
    answer = requests.get(
        contestants.token_url,
        params=[
            ("service", service_name(contestants.contest)),
            ("scope", "repository:contest/alice:pull,push"),
            ("scope", "repository:contest:pull"),
        ],
        auth=(account, password),
        timeout=10,
    )
    assert answer.status_code == 200
    claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
    assert claims["sub"] == JUDGE_ACCOUNT
    assert claims["access"] == [
        {"type": "repository", "name": "contest/alice", "actions": ["pull"]},
        {"type": "repository", "name": "contest", "actions": ["pull"]},
    ]


# -- the clients -------------------------------------------------------------------------------------


def test_podman_login_and_push(contestants: Contestants, podman: Podman) -> None:
    authfile = contestants.root / "podman-auth.json"
    host = contestants.registry.host
    loaded = podman.podman("load", "-i", str(contestants.image_tar), check=False)
    assert loaded.returncode == 0, loaded.stderr.decode()

    def podman_(*args: str, stdin: str | None = None) -> tuple[int, str]:
        done = podman.podman(*args, check=False, input=stdin.encode() if stdin is not None else None)
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    login = (
        "login",
        "--authfile",
        str(authfile),
        "--tls-verify=false",
        "-u",
        "alice",
        "--password-stdin",
        host,
    )
    code, said = podman_(*login, stdin="not-her-password")
    assert code != 0 and refused(said), said
    code, said = podman_(*login, stdin=PASSWORDS["alice"])
    assert code == 0, said

    push = ("push", "--authfile", str(authfile), "--tls-verify=false", contestants.local_name)
    code, said = podman_(*push, f"docker://{contestants.ref('alice', 'podman')}")
    assert code == 0, said
    code, said = podman_(*push, f"docker://{contestants.ref('mallory', 'podman')}")
    assert code != 0 and refused(said), said
    assert "podman" in contestants.tags("alice")
    assert "podman" not in contestants.tags("mallory")


def test_skopeo_copy_with_dest_creds(contestants: Contestants) -> None:
    skopeo = require("skopeo")
    source = f"docker-archive:{contestants.image_tar}"
    creds = f"--dest-creds=alice:{PASSWORDS['alice']}"
    base = [skopeo, "copy", "--quiet", "--dest-tls-verify=false", creds, source]
    code, said = run([*base, f"docker://{contestants.ref('alice', 'skopeo')}"])
    assert code == 0, said
    code, said = run([*base, f"docker://{contestants.ref('mallory', 'skopeo')}"])
    assert code != 0 and refused(said), said
    assert "skopeo" not in contestants.tags("mallory")


def test_docker_login_and_push(contestants: Contestants, dockerd: Dockerd) -> None:
    binary = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else require("docker")
    config = contestants.root / "docker-config"
    config.mkdir(exist_ok=True)
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    host = contestants.registry.host

    def docker(*args: str, stdin: str | None = None) -> tuple[int, str]:
        return run([binary, "-H", dockerd.url, *args], env=env, stdin=stdin)

    code, said = docker("load", "-i", str(contestants.image_tar))
    assert code == 0, said
    code, said = docker("login", "-u", "alice", "--password-stdin", host, stdin="not-her-password")
    assert code != 0 and refused(said), said
    code, said = docker("login", "-u", "alice", "--password-stdin", host, stdin=PASSWORDS["alice"])
    assert code == 0, said
    own, other = contestants.ref("alice", "docker"), contestants.ref("mallory", "docker")
    try:
        for ref in (own, other):
            code, said = docker("tag", contestants.local_name, ref)
            assert code == 0, said
        code, said = docker("push", own)
        assert code == 0, said
        code, said = docker("push", other)
        assert code != 0 and refused(said), said
    finally:
        docker("rmi", "--force", own, other, contestants.local_name)
    assert "docker" in contestants.tags("alice")
    assert "docker" not in contestants.tags("mallory")


def test_imagegolf_push_to_its_own_repository_only(contestants: Contestants) -> None:
    env = {"IMAGEGOLF_REGISTRY_USERNAME": "alice", "IMAGEGOLF_REGISTRY_PASSWORD": PASSWORDS["alice"]}
    pushed = cli(
        "push", str(contestants.image_tar), contestants.ref("alice", "imagegolf"), "--json", environ=env
    )
    assert pushed.code == 0, pushed.stderr
    digest = json.loads(pushed.stdout)["digest"]
    refused_push = cli(
        "push", str(contestants.image_tar), contestants.ref("mallory", "imagegolf"), environ=env
    )
    assert refused_push.code != 0
    assert PASSWORDS["alice"] not in refused_push.stderr
    # good credentials, too little access: said so, not "refused the credentials"
    assert "grant no access to repository:contest/mallory" in refused_push.stderr, refused_push.stderr
    wrong = {**env, "IMAGEGOLF_REGISTRY_PASSWORD": "not-her-password"}
    failed = cli("push", str(contestants.image_tar), contestants.ref("alice", "wrong"), environ=wrong)
    assert failed.code != 0 and "refused the credentials" in failed.stderr, failed.stderr

    # the same through the library: mallory's own image into her repository, then alice's attempt
    image = oci.build_image([TarEntry.file("a", b"mallory's entry\n", 0o755)], LINUX_AMD64, cmd=["/a"])
    host = contestants.registry.host
    with open_registry(host, username="mallory", password=PASSWORDS["mallory"], env={}) as client:
        client.push_image("contest/mallory", image, "library")
    with (
        open_registry(host, username="alice", password=PASSWORDS["alice"], env={}) as client,
        pytest.raises((AuthenticationFailed, RegistryRefused)),
    ):
        client.push_image("contest/mallory", image, "by-alice")
    assert "library" in contestants.tags("mallory") and "by-alice" not in contestants.tags("mallory")
    assert "imagegolf" in contestants.tags("alice")

    # the judge pulls alice's image, byte for byte
    account, password = judge_credentials(contestants.db, contestants.contest)
    with open_registry(host, username=account, password=password, env={}) as judge:
        pulled = judge.pull_image(Reference.parse(f"{host}/contest/alice@{digest}"))
        assert str(pulled.manifest_digest) == digest
        # and may not push
        with pytest.raises((AuthenticationFailed, RegistryRefused)):
            judge.push_image("contest/alice", image, "by-the-judge")


# -- LocalRegistry's other options -------------------------------------------------------------------


def test_local_registry_files_are_private_and_htpasswd_is_reread(tmp_path: Path) -> None:
    accounts = tmp_path / "htpasswd"
    accounts.write_text(htpasswd({"alice": hash_password(PASSWORDS["alice"])}))
    with LocalRegistry(
        htpasswd=accounts, notify_url="http://127.0.0.1:9/hooks", notify_token="secret"
    ) as registry:
        assert stat.S_IMODE(registry.dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(registry.config_path.stat().st_mode) == 0o600
        config = json.loads(registry.config_path.read_text())
        assert config["auth"] == {"htpasswd": {"realm": "imagegolf", "path": str(accounts)}}
        url = f"{registry.url}/v2/"
        assert requests.get(url, auth=("alice", PASSWORDS["alice"]), timeout=10).status_code == 200
        assert requests.get(url, auth=("mallory", PASSWORDS["mallory"]), timeout=10).status_code == 401
        # distribution 2.8.2 re-reads the file when its modification time changes: no restart
        before = accounts.stat().st_mtime_ns
        accounts.write_text(htpasswd({name: hash_password(password) for name, password in PASSWORDS.items()}))
        if accounts.stat().st_mtime_ns == before:  # a coarse clock: make the change visible
            os.utime(accounts, ns=(before + 1_000_000_000, before + 1_000_000_000))
        assert requests.get(url, auth=("mallory", PASSWORDS["mallory"]), timeout=10).status_code == 200
        # restart(): same port, same storage
        with open_registry(registry.host, username="alice", password=PASSWORDS["alice"], env={}) as client:
            image = oci.build_image([TarEntry.file("a", b"kept\n", 0o755)], LINUX_AMD64, cmd=["/a"])
            client.push_image("kept", image, "v1")
        port = registry.port
        registry.restart()
        assert registry.port == port
        with open_registry(registry.host, username="alice", password=PASSWORDS["alice"], env={}) as client:
            assert client.list_tags("kept") == ["v1"]
    assert not registry.dir.exists()


def test_local_registry_missing_htpasswd_file_lets_nobody_in(tmp_path: Path) -> None:
    accounts = tmp_path / "none" / "htpasswd"
    accounts.parent.mkdir()
    with LocalRegistry(tmp_path / "registry", htpasswd=accounts) as registry:
        assert accounts.read_text() == ""  # not distribution's provisioned "docker" user
        assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
        answer = requests.get(f"{registry.url}/v2/", auth=("docker", "x"), timeout=10)
        assert answer.status_code == 401
    assert "provisioning with default user" not in (tmp_path / "registry" / "registry.log").read_text()


def test_local_registry_with_tls(tmp_path: Path) -> None:
    ca, certificate, key = write_tls_files(tmp_path)
    with LocalRegistry(tls=(certificate, key)) as registry:
        assert registry.url.startswith("https://")
        assert requests.get(f"{registry.url}/v2/", verify=str(ca), timeout=10).status_code == 200
        with open_registry(registry.host, ca_bundle=str(ca), env={}) as client:
            assert client.list_tags("nothing") == []


def test_local_registry_refuses_two_kinds_of_auth(tmp_path: Path) -> None:
    from imagegolf.errors import UsageError

    auth = TokenAuth(realm="http://127.0.0.1:1/auth/token", service="s", issuer="i", rootcertbundle=tmp_path)
    with pytest.raises(UsageError):
        LocalRegistry(htpasswd=tmp_path / "h", token=auth)


def test_basic_credentials_of_other_schemes_are_a_401(contestants: Contestants) -> None:
    for header in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        answer = requests.get(contestants.token_url, headers={"Authorization": header}, timeout=10)
        assert answer.status_code == 401, header
