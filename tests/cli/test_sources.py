"""One SOURCE resolver (images/source.py) for every command and the judge; the entrant's commands
start without what they do not use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.run_cli import cli

from imagegolf.errors import UsageError
from imagegolf.images import source
from imagegolf.images.access import RegistryAccess
from imagegolf.images.host import host_wanted
from imagegolf.judge.host import current_host
from imagegolf.judge.sources import SourceNotFound, local_fetch
from imagegolf.platform import ANY


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "image.tar"
    assert cli("build", "-o", str(path)).code == 0
    return path


def test_a_path_is_read_from_files_and_the_judge_reads_it_the_same_way(built: Path) -> None:
    image = source.resolve(str(built), ANY, RegistryAccess())
    assert local_fetch(str(built), ANY).manifest_digest == image.manifest_digest
    assert local_fetch is source.read_files  # the judge's local fetch is the resolver's


def test_a_missing_path_is_source_not_found_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound, match="no such file or directory") as caught:
        source.resolve(str(tmp_path / "gone.tar"), ANY, RegistryAccess())
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_neither_a_path_nor_a_reference_is_refused_before_any_work() -> None:
    with pytest.raises(UsageError, match="neither an existing file or directory nor an image reference"):
        source.check_source("NOT A REF")
    source.check_source("127.0.0.1:5000/golf:v1")  # a reference: nothing contacted


def test_the_resolver_opens_one_client_per_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    class Client:
        def __init__(self, registry: str) -> None:
            self.registry = registry

        def pull_image(self, ref: object, wanted: object) -> str:
            return f"{self.registry}:{ref}"

    def open_client(access: RegistryAccess, registry: str) -> Client:
        opened.append(registry)
        return Client(registry)

    monkeypatch.setattr(source, "open_client", open_client)
    resolver = source.Resolver(RegistryAccess())
    for text in ("127.0.0.1:5000/a:1", "127.0.0.1:5000/b:2", "127.0.0.1:5001/a:1"):
        resolver(text, ANY)
    assert opened == ["127.0.0.1:5000", "127.0.0.1:5001"]


def test_no_platform_asked_means_the_hosts_own_as_the_judge_sees_it() -> None:
    wanted = host_wanted()
    assert not wanted.asked
    assert wanted.platforms == current_host().platforms


HEAVY = ("docker", "requests", "rich", "fastapi", "psycopg", "matplotlib", "bcrypt", "jwt", "cryptography")


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "-o", "{dir}/x.tar"],
        ["build", "--help"],
        ["inspect", "{tar}"],
        ["explain", "--help"],
        ["explain", "{tar}"],
    ],
)
def test_the_entrants_commands_import_only_what_they_use(
    argv: list[str], built: Path, tmp_path: Path
) -> None:
    args = [a.format(dir=tmp_path, tar=built) for a in argv]
    program = (
        "import sys\n"
        "from imagegolf.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "if 'capstone' in sys.modules and sys.argv[1] != 'disassembles':\n"
        "    heavy.append('capstone')\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    disassembles = "disassembles" if args[0] == "explain" and "--help" not in args else "-"
    done = subprocess.run(
        [sys.executable, "-c", program, disassembles], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "HEAVY=", done.stdout


# What `imagegolf build -o` starts without (bench/cli_speed.py times it against `podman build`):
# the SOURCE resolver with image references and registry access (build reads no SOURCE), the
# identification of a program (explain's), the choice of an image from an index and the readers
# of stored images, and pathlib (with urllib.parse and ipaddress: the dual tar is written with os).
BUILD_LEAVES_OUT = (
    "pathlib",
    "imagegolf.ref",
    "imagegolf.images.source",
    "imagegolf.images.access",
    "imagegolf.elf.identification",
    "imagegolf.oci.resolve",
    "imagegolf.store.read",
    "imagegolf.registry",
)


def test_build_starts_without_what_it_does_not_use(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from imagegolf.cli.main import main\n"
        f"status = main(['build', '-o', {str(tmp_path / 'x.tar')!r}, 'a message'])\n"
        f"loaded = [m for m in {BUILD_LEAVES_OUT!r} if m in sys.modules]\n"
        "print('STATUS', status, 'LOADED=' + ','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "STATUS 0 LOADED=", done.stdout
