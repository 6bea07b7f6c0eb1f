"""A contest entered with the real clients entrants use: every push is judged ACCEPTED at the size
`docker images` shows.

One contest (SQLite in a temp dir, created with ``imagegolf contest init``) watches one repository
of Debian's docker-registry on 127.0.0.1 (plain HTTP). Each client pushes the phrase's tiny static
ELF (``elf.build_program(b"hello IDBS engineering\\n", LINUX_AMD64)``, ``FROM scratch``,
``COPY a /a``, ``CMD ["/a"]``) to its own tag — the tag is the entrant:

============  ===================================================================================
tag           how it was pushed
============  ===================================================================================
docker        ``docker build`` (classic builder, ``DOCKER_BUILDKIT=0``) on the test dockerd, then
              ``docker push`` (dockerd treats 127.0.0.0/8 as an insecure registry: checked)
podman-oci    ``podman build --format oci`` + ``podman push --format oci``
podman-v2s2   ``podman build --format docker`` + ``podman push --format v2s2``
podman-zstd   ``podman push --compression-format zstd``
podman-index  ``podman manifest create`` + ``add`` (linux/amd64, linux/arm64) + ``manifest push --all``
podman-list   the same with linux/386 and ``--format v2s2``: a Docker manifest list
buildah       ``buildah bud`` + ``buildah push`` (private ``--root``/``--runroot``)
skopeo        ``imagegolf build --platform linux/amd64,linux/386 --oci-dir`` + ``skopeo copy --all
              --preserve-digests``
              (the index pushed is the one built, byte for byte; its program says the phrase and
              more, so that none of its layers is one another test pushes)
buildx        the index BuildKit ≥ 0.11 pushes: the image and a provenance attestation manifest
              (tests/registry/buildx.py; buildx is not packaged in Debian 12)
sha256-….sig  a cosign signature of podman-oci's image under cosign's sidecar tag: not an entry
============  ===================================================================================

podman runs on a store and libpod state of its own (``Podman``), buildah on a store of its own.

The organiser then runs ``imagegolf contest watch --once`` (3 runs per image, the default) with
``DOCKER_HOST`` at imagegolf's private podman service (the ``podman_engine`` fixture; zstd images
need podman). For every entry the tests check: the verdict is ACCEPTED; the submission pins the
digest the client said it pushed (the index's, for an index) and the registry serves; an index is
judged on linux/amd64 and the judgement names the index and which entry and why (never an
attestation); ``docker_classic`` equals ``docker image inspect --format {{.Size}}`` on dockerd after
``docker pull`` of the pushed reference — except zstd, which Docker 20.10 cannot pull (checked),
where it equals the ELF's length. The signature tag makes no submission.

Each entrant's build context gives ``a`` its own mtime, and docker and podman build with
``--no-cache``, so no two entrants' layers are equal: the contest's duplicate rule compares layer
digests, and podman and buildah write the same tar from the same context (podman's layer cache even
reuses another build's layer for a COPY of equal content, mtime and all). Unique layers also keep
containers/image's blob-info cache out of the way: it is host-wide
(/var/lib/containers/cache, shared by podman, buildah and skopeo whatever their ``--root``) and lets
a push reuse a blob of the same layer that the registry already holds in another compression, so
``podman push --compression-format zstd`` of a layer pushed before sends gzip, and a plain push can
send a zstd blob Docker 20.10 cannot pull. skopeo copies with ``--preserve-digests`` for the same
reason: without it, it rewrote the linux/386 manifest of the built index with a zstd layer another
test had pushed to another repository of the registry, and the index pushed was not the one built.

The interop table (client × operation × what the registry got × verdict × docker_classic ×
``docker images`` SIZE) is written to ``build/interop.md`` and printed in the terminal summary;
docs/registry.md ("Clients entrants use") holds its last form.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imagegolf import elf, oci
from imagegolf.contest import SubmissionState, open_contest, snapshot, submission_detail
from imagegolf.db import open_database
from imagegolf.db import queries as q
from imagegolf.engine import Engine
from imagegolf.engine.podman_service import unmount_under
from imagegolf.oci import media
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform
from imagegolf.registry import RegistryClient, open_registry
from tests.cli.run_cli import cli
from tests.contest.test_not_entries import Pushed as SignedImage
from tests.contest.test_not_entries import cosign_signature
from tests.registry.buildx import push_buildx_index
from tests.registry_services import DistributionRegistry
from tests.services import Dockerd, Podman, require

pytestmark = pytest.mark.engine

PHRASE = "hello IDBS engineering"
MESSAGE = f"{PHRASE}\n".encode()
PROGRAM = elf.build_program(MESSAGE, LINUX_AMD64)
PROGRAMS = {
    LINUX_AMD64: PROGRAM,
    LINUX_ARM64: elf.build_program(MESSAGE, LINUX_ARM64),
    LINUX_386: elf.build_program(MESSAGE, LINUX_386),
}
# The skopeo entrant copies what `imagegolf build` writes. With the phrase alone its linux/386 image
# would be byte for byte the record image other tests push (tests/judge/test_zstd_judge.py pushes it
# with `podman push --compression-format zstd`): pushed here first with gzip by skopeo, the host-wide
# blob-info cache would make that later push send gzip. Its own words keep its layers its own.
SKOPEO_PHRASE = f"{PHRASE}, copied by skopeo"
SKOPEO_PROGRAM = elf.build_program(f"{SKOPEO_PHRASE}\n".encode(), LINUX_AMD64)
REPOSITORY = "clients/idbs"
CONTAINERFILE = 'FROM scratch\nCOPY a /a\nCMD ["/a"]\n'
MTIME = 1_795_881_600  # 2026-11-28 16:00 UTC; entrant n's `a` is n minutes later
TABLE = Path(__file__).resolve().parents[2] / "build" / "interop.md"
CLIENT_TIMEOUT_S = 180


# -- the entries -----------------------------------------------------------------------------------


DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True)
class Entry:
    tag: str  # the entrant
    client: str  # whose version goes in the table
    operation: str
    media_type: str  # what the registry must serve for the tag
    layer: str = media.OCI_LAYER_GZIP  # the judged image's one layer
    program: bytes = PROGRAM  # the judged image's one file

    @property
    def index(self) -> bool:
        """An index or manifest list: the judge takes its linux/amd64 image."""
        return self.media_type in (media.OCI_INDEX, DOCKER_LIST)

    @property
    def zstd(self) -> bool:
        """Docker 20.10 cannot pull it."""
        return self.layer == media.OCI_LAYER_ZSTD


ENTRIES = (
    Entry(
        "docker",
        "docker",
        "`docker build` (classic builder) + `docker push`",
        DOCKER_MANIFEST,
        DOCKER_LAYER,
    ),
    Entry(
        "podman-oci",
        "podman",
        "`podman build --format oci` + `podman push --format oci`",
        media.OCI_MANIFEST,
    ),
    Entry(
        "podman-v2s2",
        "podman",
        "`podman build --format docker` + `podman push --format v2s2`",
        DOCKER_MANIFEST,
        DOCKER_LAYER,
    ),
    Entry(
        "podman-zstd",
        "podman",
        "`podman build` + `podman push --compression-format zstd`",
        media.OCI_MANIFEST,
        media.OCI_LAYER_ZSTD,
    ),
    Entry(
        "podman-index",
        "podman",
        "`podman manifest create` + `add` amd64, arm64 + `manifest push --all`",
        media.OCI_INDEX,
    ),
    Entry(
        "podman-list",
        "podman",
        "`podman manifest create` + `add` amd64, 386 + `manifest push --all --format v2s2`",
        DOCKER_LIST,
        DOCKER_LAYER,
    ),
    Entry("buildah", "buildah", "`buildah bud` + `buildah push`", media.OCI_MANIFEST),
    Entry(
        "skopeo",
        "skopeo",
        "`imagegolf build --platform linux/amd64,linux/386 --oci-dir` + "
        "`skopeo copy --all --preserve-digests`",
        media.OCI_INDEX,
        program=SKOPEO_PROGRAM,
    ),
    Entry(
        "buildx",
        "buildx",
        "image + provenance attestation manifest in one index, as BuildKit ≥ 0.11 pushes",
        media.OCI_INDEX,
    ),
)
SIGNED = "podman-oci"  # whose image the cosign signature signs


class ClientFailed(AssertionError):
    """A client command failed; the message has the command and the end of its stderr."""


def checked(
    done: subprocess.CompletedProcess[bytes], args: Sequence[str]
) -> subprocess.CompletedProcess[bytes]:
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode(errors="replace").strip()[-1500:]
        raise ClientFailed(f"`{' '.join(args)}` exited {done.returncode}: {said}")
    return done


def run(args: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    return checked(subprocess.run(list(args), capture_output=True, timeout=CLIENT_TIMEOUT_S), args)


# -- the clients -----------------------------------------------------------------------------------


class DockerCli:
    """The docker CLI of the test dockerd (Debian's 20.10, as ``Dockerd.docker``), with a private
    config directory and the classic builder."""

    def __init__(self, dockerd: Dockerd, config_dir: Path) -> None:
        self.dockerd = dockerd
        self.binary = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else require("docker")
        config_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DOCKER_BUILDKIT": "0", "DOCKER_CONFIG": str(config_dir)}

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [self.binary, "-H", self.dockerd.url, *args]
        done = subprocess.run(command, capture_output=True, env=self.env, timeout=CLIENT_TIMEOUT_S)
        return checked(done, command) if check else done


class Buildah:
    """buildah on a private store (``--root``/``--runroot``), like tests.services.Podman."""

    def __init__(self) -> None:
        self.binary = require("buildah")
        self.dir = tempfile.mkdtemp(prefix="igb-", dir="/tmp")  # short, as the other stores'
        self.store = [
            "--root",
            f"{self.dir}/root",
            "--runroot",
            f"{self.dir}/run",
            "--storage-driver",
            "overlay",
        ]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return run([self.binary, *self.store, *args])

    def stop(self) -> None:
        command = [self.binary, *self.store, "rmi", "--all", "--force"]
        subprocess.run(command, capture_output=True, timeout=CLIENT_TIMEOUT_S)
        unmount_under(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_podman(cli_: Podman, *args: str) -> subprocess.CompletedProcess[bytes]:
    done = cli_.podman(*args, check=False)
    return checked(done, ["podman", *args])


def version_of(command: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(command), capture_output=True, timeout=60).stdout.decode()
    except OSError:
        return "?"
    found = re.search(r"\d+\.\d+\.\d+[^\s,]*", out)
    return found.group(0) if found else "?"


# -- what one push left, and what came of it ---------------------------------------------------------


@dataclass
class Row:
    entry: Entry
    reference: str
    seconds: float = 0.0  # the client's build and push
    reported: str | None = None  # the digest the client said it pushed
    error: str | None = None  # the push failed
    served: str | None = None  # Docker-Content-Digest of the tag, after the push
    media_type: str | None = None  # what the registry serves for the tag
    platforms: list[str] = field(default_factory=list)  # an index's entries, in order
    amd64_digest: str | None = None  # an index's linux/amd64 entry
    state: SubmissionState | None = None
    judged: dict[str, Any] | None = None  # the judgement in effect, as its event holds it
    pull: subprocess.CompletedProcess[bytes] | None = None
    docker_size: int | None = None
    docker_arch: str | None = None
    docker_images: str | None = None  # the SIZE column of `docker images`

    @property
    def judgement(self) -> dict[str, Any]:
        assert self.judged is not None, "not judged"
        return self.judged

    @property
    def docker_classic(self) -> int | None:
        if self.judged is None or not self.judged.get("metrics"):
            return None
        return int(self.judged["metrics"]["docker_classic"])


@dataclass
class Interop:
    rows: dict[str, Row]
    signature_tag: str
    signature_digest: str
    signature_error: str | None
    watch_output: str
    watch_code: int
    watch_stderr: str
    db_url: str
    insecure_cidrs: list[str]
    versions: dict[str, str]
    timings: dict[str, float]
    heads: dict[str, str]
    states: dict[str, SubmissionState]
    table: str = ""


def context(root: Path, name: str, number: int, program: bytes) -> Path:
    """A build context: the Containerfile and the program ``a`` (755) with entrant ``number``'s mtime."""
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "Containerfile").write_text(CONTAINERFILE)
    target = directory / "a"
    target.write_bytes(program)
    target.chmod(0o755)
    stamp = MTIME + 60 * number
    os.utime(target, (stamp, stamp))
    return directory


def digest_file(path: Path) -> str:
    return path.read_text().strip()


class Pusher:
    """Each client's build and push; each returns the digest the client says it pushed."""

    def __init__(
        self,
        root: Path,
        registry: DistributionRegistry,
        docker: DockerCli,
        podman_cli: Podman,
        buildah: Buildah,
        client: RegistryClient,
    ) -> None:
        self.root = root
        self.registry = registry
        self.docker = docker
        self.podman = podman_cli
        self.buildah = buildah
        self.client = client

    def ref(self, tag: str) -> str:
        return f"{self.registry.host}/{REPOSITORY}:{tag}"

    def push(self, entry: Entry, number: int) -> str:
        method: Callable[[Entry, int], str] = getattr(self, "push_" + entry.tag.replace("-", "_"))
        return method(entry, number)

    def push_docker(self, entry: Entry, number: int) -> str:
        ref = self.ref(entry.tag)
        directory = context(self.root, entry.tag, number, PROGRAM)
        self.docker("build", "--no-cache", "-t", ref, "-f", str(directory / "Containerfile"), str(directory))
        pushed = self.docker("push", ref).stdout.decode()
        found = re.search(r"digest: (sha256:[0-9a-f]{64}) size: \d+", pushed)
        assert found, f"docker push said no digest: {pushed}"
        self.docker("rmi", ref)  # `docker pull` below fetches it from the registry, as anyone would
        return found.group(1)

    def _podman_build(self, name: str, directory: Path, *flags: str) -> str:
        local = f"localhost/igclients/{name}:latest"
        containerfile = str(directory / "Containerfile")
        # --no-cache: podman's layer cache keys COPY by content alone, so without it a second
        # entrant's build reuses the first one's layer, mtime and all (and a later push of it
        # reuses the blob already in the registry, whatever --compression-format says).
        run_podman(
            self.podman, "build", "--quiet", "--no-cache", *flags, "-t", local, "-f", containerfile,
            str(directory),
        )  # fmt: skip
        return local

    def _podman_push(self, entry: Entry, local: str, *flags: str) -> str:
        digests = self.root / f"{entry.tag}.digest"
        run_podman(
            self.podman, "push", "--quiet", "--tls-verify=false", "--digestfile", str(digests), *flags,
            local, f"docker://{self.ref(entry.tag)}",
        )  # fmt: skip
        return digest_file(digests)

    def push_podman_oci(self, entry: Entry, number: int) -> str:
        directory = context(self.root, entry.tag, number, PROGRAM)
        local = self._podman_build(entry.tag, directory, "--format", "oci")
        return self._podman_push(entry, local, "--format", "oci")

    def push_podman_v2s2(self, entry: Entry, number: int) -> str:
        directory = context(self.root, entry.tag, number, PROGRAM)
        local = self._podman_build(entry.tag, directory, "--format", "docker")
        return self._podman_push(entry, local, "--format", "v2s2")

    def push_podman_zstd(self, entry: Entry, number: int) -> str:
        directory = context(self.root, entry.tag, number, PROGRAM)
        local = self._podman_build(entry.tag, directory, "--format", "oci")
        return self._podman_push(entry, local, "--compression-format", "zstd")

    def _manifest(self, entry: Entry, number: int, other: Platform, *flags: str) -> str:
        listed = f"localhost/igclients/{entry.tag}-list:latest"
        run_podman(self.podman, "manifest", "create", listed)
        for platform in (LINUX_AMD64, other):
            name = f"{entry.tag}-{platform.architecture}"
            directory = context(self.root, name, number, PROGRAMS[platform])
            local = self._podman_build(name, directory, "--platform", str(platform))
            run_podman(self.podman, "manifest", "add", listed, f"containers-storage:{local}")
        digests = self.root / f"{entry.tag}.digest"
        run_podman(
            self.podman, "manifest", "push", "--all", "--quiet", "--tls-verify=false",
            "--digestfile", str(digests), *flags, listed, f"docker://{self.ref(entry.tag)}",
        )  # fmt: skip
        return digest_file(digests)

    def push_podman_index(self, entry: Entry, number: int) -> str:
        return self._manifest(entry, number, LINUX_ARM64)

    def push_podman_list(self, entry: Entry, number: int) -> str:
        return self._manifest(entry, number, LINUX_386, "--format", "v2s2")

    def push_buildah(self, entry: Entry, number: int) -> str:
        directory = context(self.root, entry.tag, number, PROGRAM)
        local = f"localhost/igclients/{entry.tag}:latest"
        self.buildah("bud", "--quiet", "-f", str(directory / "Containerfile"), "-t", local, str(directory))
        digests = self.root / f"{entry.tag}.digest"
        self.buildah(
            "push", "--quiet", "--tls-verify=false", "--digestfile", str(digests), local,
            f"docker://{self.ref(entry.tag)}",
        )  # fmt: skip
        return digest_file(digests)

    def push_skopeo(self, entry: Entry, number: int) -> str:
        layout = self.root / "skopeo-layout"
        built = cli(
            "build", SKOPEO_PHRASE, "--platform", "linux/amd64,linux/386", "--oci-dir", str(layout), "--json"
        )
        assert built.code == 0, built.stderr
        digests = self.root / f"{entry.tag}.digest"
        # --preserve-digests: without it skopeo may rewrite a manifest, swapping a layer for another
        # compression of it that the host's blob-info cache knows at this registry (e.g. a zstd
        # copy another tool pushed to another repository), and the index pushed is not the built one.
        run(
            [
                require("skopeo"), "copy", "--all", "--preserve-digests", "--quiet",
                "--dest-tls-verify=false", "--digestfile", str(digests),
                f"oci:{layout}:latest", f"docker://{self.ref(entry.tag)}",
            ]
        )  # fmt: skip
        copied = digest_file(digests)
        built_index = json.loads(built.text)["index_digest"]
        assert copied == built_index, f"skopeo copy --all changed the index {built_index} into {copied}"
        return copied

    def push_buildx(self, entry: Entry, number: int) -> str:
        # BuildKit's COPY keeps the file's mode (755, unlike imagegolf's record 0o111): a layer of
        # its own, not the skopeo entrant's.
        image = oci.build_image([TarEntry.file("a", PROGRAM, 0o755)], LINUX_AMD64, cmd=["/a"])
        return str(push_buildx_index(self.client, REPOSITORY, entry.tag, image).digest)


def describe_index(client: RegistryClient, row: Row) -> None:
    raw, _ = client.get_manifest(REPOSITORY, row.entry.tag)
    for item in json.loads(raw)["manifests"]:
        platform = item.get("platform", {})
        spelled = f"{platform.get('os')}/{platform.get('architecture')}"
        if platform.get("variant"):
            spelled += f"/{platform['variant']}"
        annotations = item.get("annotations") or {}
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            spelled = "attestation"
        row.platforms.append(spelled)
        if spelled == "linux/amd64":
            row.amd64_digest = item["digest"]


def docker_pull(docker: DockerCli, row: Row) -> None:
    row.pull = docker("pull", row.reference, check=False)
    if row.pull.returncode != 0:
        return
    inspected = docker("image", "inspect", "--format", "{{.Size}} {{.Os}}/{{.Architecture}}", row.reference)
    size, arch = inspected.stdout.decode().split()
    row.docker_size, row.docker_arch = int(size), arch
    listed = docker("images", "--format", "{{.Size}}", row.reference).stdout.decode().split()
    row.docker_images = listed[0] if listed else None


# -- the interop table -------------------------------------------------------------------------------


def registry_got(row: Row) -> str:
    if row.media_type is None:
        return "—"
    return f"`{row.media_type}`" + (f": {', '.join(row.platforms)}" if row.platforms else "")


def layer_types(row: Row) -> str:
    if row.judged is None:
        return "—"
    return ", ".join(f"`{layer['media_type']}`" for layer in row.judged.get("layers", [])) or "—"


def cell(text: str) -> str:
    """Text that keeps a markdown table's shape: one line, no column bars."""
    return " ".join(text.split()).replace("|", "\\|")


def docker_column(row: Row) -> str:
    if row.pull is None:
        return "—"
    if row.pull.returncode != 0:
        lines = [line for line in row.pull.stderr.decode(errors="replace").splitlines() if line.strip()]
        return cell(f"pull fails: {lines[-1] if lines else '?'}")
    return f"{row.docker_images} ({row.docker_size})"


def make_table(result: Interop) -> str:
    head = (
        "| client | operation | tag | the registry got | layer (judged image) | verdict | judged | "
        "docker_classic | `docker images` SIZE |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in result.rows.values():
        entry = row.entry
        client = f"{entry.client} {result.versions.get(entry.client, '')}".strip()
        if row.error is not None:
            failed = cell(f"push failed: {row.error[:300]}")
            lines.append(f"| {client} | {entry.operation} | {entry.tag} | {failed} | — | — | — | — | — |")
            continue
        judged = "—"
        verdict = row.state.status if row.state else "no submission"
        if row.judged:
            judged = str(row.judged.get("platform") or "—")
        classic = "—" if row.docker_classic is None else str(row.docker_classic)
        lines.append(
            f"| {client} | {entry.operation} | {entry.tag} | {registry_got(row)} | {layer_types(row)} | "
            f"{verdict} | {judged} | {classic} | {docker_column(row)} |"
        )
    outcome = "not an entry (no submission)"
    if result.signature_error is not None or result.signature_tag in result.states:
        outcome = cell(result.signature_error or "a submission!")
    signature = (
        "| cosign-style | a cosign signature manifest of podman-oci's image under cosign's sidecar tag | "
        f"`sha256-<hex>.sig` | `{media.OCI_MANIFEST}`: cosign's simplesigning layer | — | "
        f"{outcome} | — | — | — |"
    )
    return head + "\n".join([*lines, signature]) + "\n"


def markdown(result: Interop) -> str:
    pushes = ", ".join(f"{row.entry.tag} {row.seconds:.1f} s" for row in result.rows.values())
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
    return (
        "# Clients entrants use\n\n"
        "Written by tests/contest/test_clients.py: each client pushed the phrase's ELF to its own tag of "
        "one contest's repository (Debian's docker-registry 2.8, plain HTTP on 127.0.0.1); "
        "`imagegolf contest watch --once` judged them on podman; `docker images` is dockerd "
        f"{result.versions.get('dockerd', '?')} (overlay2) after `docker pull` of the pushed reference.\n\n"
        + result.table
        + f"\nTimings: {timings} (build and push: {pushes}).\n"
    )


class TableSummary:
    """A pytest plugin, registered by the fixture: prints the table in the terminal summary."""

    def __init__(self, text: str) -> None:
        self.text = text

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", f"clients entrants use ({TABLE})")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


# -- the contest ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interop(
    registry_open: DistributionRegistry,
    dockerd: Dockerd,
    podman_engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Interop]:
    root = tmp_path_factory.mktemp("clients")
    timings: dict[str, float] = {}
    db_url = str(root / "contest.db")
    watched = f"{registry_open.host}/{REPOSITORY}"
    created = cli("contest", "init", "--db", db_url, "--name", "clients", "--repository", watched,
                  "--phrase", PHRASE)  # fmt: skip
    assert created.code == 0, created.stderr

    docker = DockerCli(dockerd, root / "docker-config")
    info = docker("info", "--format", "{{json .RegistryConfig.InsecureRegistryCIDRs}}").stdout
    versions = {
        "docker": version_of([docker.binary, "--version"]),
        "dockerd": version_of([shutil.which("dockerd") or "dockerd", "--version"]),
        "podman": version_of([require("podman"), "--version"]),
        "buildah": version_of([require("buildah"), "--version"]),
        "skopeo": version_of([require("skopeo"), "--version"]),
        "buildx": "shape, BuildKit ≥ 0.11",
    }
    own_podman = Podman()
    buildah = Buildah()
    client = open_registry(registry_open.host)
    pusher = Pusher(root, registry_open, docker, own_podman, buildah, client)
    rows: dict[str, Row] = {}
    try:
        started = time.monotonic()
        for number, entry in enumerate(ENTRIES, start=1):
            row = rows[entry.tag] = Row(entry, pusher.ref(entry.tag))
            began = time.monotonic()
            try:
                row.reported = pusher.push(entry, number)
            except Exception as error:  # this entry fails its test; the others go on
                row.error = f"{type(error).__name__}: {error}"
            row.seconds = time.monotonic() - began
            head = client.head_manifest(REPOSITORY, entry.tag)
            if head is not None:
                row.served, row.media_type = str(head[0]), head[1]
                if entry.index:
                    describe_index(client, row)
        # A cosign 2.x signature of one entrant's image, under cosign's sidecar tag.
        signed = rows[SIGNED]
        signature_tag, signature_digest, signature_error = "", "", None
        try:
            assert signed.served is not None, f"{SIGNED} was not pushed"
            image = SignedImage(SIGNED, signed.served, signed.media_type or media.OCI_MANIFEST, 0)
            raw = cosign_signature(client, REPOSITORY, image)
            signature_tag = f"{signed.served.replace(':', '-')}.sig"
            signature_digest = str(client.put_manifest(REPOSITORY, signature_tag, raw, media.OCI_MANIFEST))
        except Exception as error:
            signature_error = f"{type(error).__name__}: {error}"
        timings["pushes"] = time.monotonic() - started

        began = time.monotonic()
        watch = cli("contest", "watch", "--db", db_url, "--once", environ={"DOCKER_HOST": podman_engine.url})
        timings["contest watch --once"] = time.monotonic() - began

        with open_database(db_url) as db:
            contest = open_contest(db)
            states = {s.submission.tag: s for s in snapshot(db, contest).standings.states}
            heads = db.run(lambda tx: q.tag_heads(tx, contest.id), write=False)
            for tag, state in states.items():
                if tag in rows:  # the judged event, read as the organiser's pages read it
                    detail = submission_detail(db, contest, state.submission.id)
                    rows[tag].state = detail.state
                    rows[tag].judged = detail.judgement.to_json() if detail.judgement else None

        began = time.monotonic()
        for row in rows.values():
            if row.error is None:
                docker_pull(docker, row)
        timings["docker pulls"] = time.monotonic() - began

        result = Interop(
            rows=rows,
            signature_tag=signature_tag,
            signature_digest=signature_digest,
            signature_error=signature_error,
            watch_output=watch.text,
            watch_code=watch.code,
            watch_stderr=watch.stderr,
            db_url=db_url,
            insecure_cidrs=list(json.loads(info or b"[]") or []),
            versions=versions,
            timings=timings,
            heads=heads,
            states=states,
        )
        result.table = make_table(result)
        TABLE.parent.mkdir(parents=True, exist_ok=True)
        TABLE.write_text(markdown(result), encoding="utf-8")
        manager = request.config.pluginmanager
        if not manager.has_plugin("imagegolf-interop-table"):
            manager.register(TableSummary(markdown(result)), "imagegolf-interop-table")
        yield result
    finally:
        for row in rows.values():
            docker("rmi", "--force", row.reference, check=False)
        own_podman.stop()
        buildah.stop()
        client.close()


# -- the tests ---------------------------------------------------------------------------------------


def test_the_organiser_s_watch_judges_every_push_once(interop: Interop) -> None:
    assert interop.watch_code == 0, interop.watch_stderr
    pushed = [row.entry.tag for row in interop.rows.values() if row.error is None]
    for tag in pushed:
        queued = rf"^{re.escape(tag)} → sha256:[0-9a-f]{{12}}…: queued$"
        assert re.search(queued, interop.watch_output, re.M), (tag, interop.watch_output)
    assert interop.watch_output.count(" ACCEPTED judged") == len(pushed), interop.watch_output
    assert sorted(interop.states) == sorted(pushed)


def test_dockerd_takes_loopback_registries_as_insecure(interop: Interop) -> None:
    """`docker push` to a plain-HTTP 127.0.0.1 registry works without daemon configuration."""
    assert "127.0.0.0/8" in interop.insecure_cidrs


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.tag for e in ENTRIES])
def test_each_client_s_push_is_accepted_at_the_size_docker_images_shows(
    interop: Interop, entry: Entry
) -> None:
    row = interop.rows[entry.tag]
    assert row.error is None, row.error
    # Pinned: the digest the client said it pushed is what the registry serves and what was submitted.
    assert row.reported is not None and row.served == row.reported
    assert row.state is not None, f"no submission for {entry.tag}: {interop.watch_output}"
    assert (row.state.submission.entrant, str(row.state.submission.digest)) == (entry.tag, row.reported)
    judgement = row.judgement
    assert row.state.status == "ACCEPTED", row.state.reason
    assert judgement["verdict"] == "ACCEPTED", judgement["reason"]
    assert judgement["platform"] == str(LINUX_AMD64)
    assert row.media_type == entry.media_type
    assert [layer["media_type"] for layer in judgement["layers"]] == [entry.layer]
    if entry.index:
        assert judgement["index_digest"] == row.reported  # the pushed index is what is pinned
        assert judgement["manifest_digest"] == row.amd64_digest  # …and its amd64 image is judged
        assert str(judgement["chosen"]).startswith("linux/amd64: the first of the wanted platforms")
        if "attestation" in row.platforms:
            assert "1 attestation manifest never chosen" in judgement["chosen"]
    else:
        assert judgement["manifest_digest"] == row.reported
        assert judgement["index_digest"] is None and judgement["chosen"] is None
    assert row.docker_classic is not None
    assert row.pull is not None
    if entry.zstd:
        # Docker 20.10 reads the zstd layer as a plain tar and fails; the judge (on podman) measures
        # what Docker ≥ 23 would store: the one file's size.
        assert row.pull.returncode != 0
        assert "failed to register layer" in row.pull.stderr.decode(errors="replace")
        assert row.docker_classic == len(entry.program)
    else:
        assert row.pull.returncode == 0, row.pull.stderr.decode(errors="replace")
        assert row.docker_arch == str(LINUX_AMD64)
        assert row.docker_classic == row.docker_size
        assert row.docker_classic == len(entry.program)  # one file: the ELF


def test_the_cosign_signature_tag_is_not_a_submission(interop: Interop) -> None:
    assert interop.signature_error is None, interop.signature_error
    tag = interop.signature_tag
    assert re.fullmatch(r"sha256-[0-9a-f]{64}\.sig", tag)
    assert tag not in interop.states  # no submission, no job, no place on the board
    assert interop.heads.get(tag) == interop.signature_digest  # but seen
    assert f"{tag} → {interop.signature_digest[:19]}…: not an entry: cosign's signature tag of" in (
        interop.watch_output
    )


def test_no_two_entrants_share_a_layer(interop: Interop) -> None:
    """Each entrant built its own layer, so the board ranks all of them (no duplicates)."""
    layers: dict[str, str] = {}
    for row in interop.rows.values():
        if row.judged is None:
            continue
        for layer in row.judged["layers"]:
            assert layer["digest"] not in layers, (row.entry.tag, layers.get(layer["digest"]))
            layers[layer["digest"]] = row.entry.tag
        assert row.state.duplicate_of is None


def test_the_board_ranks_every_client_at_its_docker_classic_size(interop: Interop) -> None:
    board = cli("contest", "board", "--db", interop.db_url, "--json")
    assert board.code == 0, board.stderr
    ranked = {r["entrant"]: (r["size"], r["digest"]) for r in json.loads(board.text)["board"]}
    expected = {
        row.entry.tag: (row.docker_classic, row.reported)
        for row in interop.rows.values()
        if row.error is None
    }
    assert ranked == expected
    exported = json.loads(cli("contest", "export", "--db", interop.db_url, "--json").text)
    for submission in exported["submissions"]:
        assert submission["docker_classic"] == interop.rows[submission["tag"]].docker_classic


def test_the_interop_table_is_written(interop: Interop) -> None:
    text = TABLE.read_text(encoding="utf-8")
    assert interop.table in text
    for entry in ENTRIES:
        assert f"| {entry.tag} |" in text
    assert "not an entry (no submission)" in text
