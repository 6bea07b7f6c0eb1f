"""Writing and reading image files: round trips, determinism, clear errors, hostile archives."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from imagegolf import store
from imagegolf.digest import Digest
from imagegolf.errors import BadInputError, DigestMismatchError, OutputError
from imagegolf.oci.image import Image
from imagegolf.oci.layout import blob_path
from imagegolf.platform import LINUX_386, LINUX_AMD64, Wanted
from tests.archive import docker_archive

NAME = "localhost/igtest/record:latest"


def tar_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return out.getvalue()


def test_dual_tar_is_deterministic_and_sorted(record_image: Image, tmp_path: Path) -> None:
    data = store.dual_tar_bytes(record_image, NAME)
    assert data == store.dual_tar_bytes(record_image, NAME)
    path = store.write_dual_tar(record_image, tmp_path / "img.tar", NAME)
    assert path.read_bytes() == data
    listing = subprocess.run(
        ["tar", "--numeric-owner", "-tvf", str(path)], capture_output=True, text=True, check=True
    )
    names = [line.split()[-1] for line in listing.stdout.splitlines()]
    assert names == sorted(names) and "manifest.json" in names and "oci-layout" in names
    assert all(" 0/0 " in line and "1970-01-01 00:00" in line for line in listing.stdout.splitlines())


@pytest.mark.parametrize("kind", [store.DUAL_ARCHIVE, store.OCI_DIR])
def test_round_trip_keeps_every_byte(record_image: Image, tmp_path: Path, kind: str) -> None:
    if kind == store.OCI_DIR:
        path = store.write_oci_dir(record_image, tmp_path / "layout", NAME)
    else:
        path = store.write_dual_tar(record_image, tmp_path / "img.tar", NAME)
    assert store.detect_source_kind(path) == kind
    assert store.read_source(path) == record_image
    assert store.read_source(path, Wanted.named((LINUX_386,))) == record_image
    with pytest.raises(BadInputError, match="not linux/amd64"):
        store.read_source(path, Wanted.named((LINUX_AMD64,)))


def test_oci_archive_without_manifest_json(record_image: Image, tmp_path: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(store.dual_tar_bytes(record_image, NAME))) as dual:
        files = {m.name: dual.extractfile(m).read() for m in dual.getmembers() if m.isfile()}  # type: ignore[union-attr]
    del files["manifest.json"]
    path = tmp_path / "oci.tar"
    path.write_bytes(tar_of(files))
    assert store.detect_source_kind(path) == store.OCI_ARCHIVE
    assert store.read_source(path) == record_image


def test_docker_archive_gets_a_synthesized_manifest(tmp_path: Path) -> None:
    path = tmp_path / "docker.tar"
    path.write_bytes(docker_archive({"hello": (b"\x7fELF", 0o755)}, {"config": {"Cmd": ["/hello"]}}, "x:1"))
    assert store.detect_source_kind(path) == store.DOCKER_ARCHIVE
    image = store.read_source(path)
    assert image.manifest_synthesized and image.config.cmd == ("/hello",)
    compressed = tmp_path / "docker.tar.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    assert store.read_source(compressed) == image


def test_adding_to_a_layout_keeps_other_names(record_image: Image, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    store.write_oci_dir(record_image, layout, "localhost/one:1")
    store.write_oci_dir(record_image, layout, "localhost/two:2")
    store.write_oci_dir(record_image, layout, "localhost/two:2")
    index = json.loads((layout / "index.json").read_bytes())
    names = [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]]
    assert names == ["localhost/one:1", "localhost/two:2"]
    assert store.read_source(layout) == record_image  # one image under two names


def test_output_errors_say_what_is_wrong(record_image: Image, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        store.write_dual_tar(record_image, tmp_path / "missing" / "x.tar", NAME)
    with pytest.raises(OutputError, match="is a directory"):
        store.write_dual_tar(record_image, tmp_path, NAME)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    with pytest.raises(OutputError, match="not empty"):
        store.write_oci_dir(record_image, tmp_path / "full", NAME)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        store.write_oci_dir(record_image, tmp_path / "plain", NAME)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "img.tar").mkdir()
    (locked / "img.tar" / "keep").write_text("x")
    with pytest.raises(OutputError):
        store.write_dual_tar(record_image, locked / "img.tar", NAME)


def test_read_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        store.read_source(tmp_path / "nothing.tar")
    with pytest.raises(BadInputError, match="not an OCI layout"):
        store.read_source(tmp_path)
    (tmp_path / "empty.tar").write_bytes(tar_of({"x": b"y"}))
    with pytest.raises(BadInputError, match=r"neither index\.json nor manifest\.json"):
        store.read_source(tmp_path / "empty.tar")
    (tmp_path / "junk.tar").write_bytes(b"not a tar" * 100)
    with pytest.raises(BadInputError):
        store.read_source(tmp_path / "junk.tar")


def test_tampered_layout_blob_is_refused(record_image: Image, tmp_path: Path) -> None:
    layout = store.write_oci_dir(record_image, tmp_path / "layout", NAME)
    layer = layout / blob_path(Digest.of(record_image.layers[0]))
    layer.write_bytes(layer.read_bytes() + b"\0")
    with pytest.raises(DigestMismatchError):
        store.read_source(layout)


@pytest.mark.parametrize(
    ("layer_name", "links"),
    [
        ("../outside/layer.tar", {}),
        ("/etc/passwd", {}),
        ("l/layer.tar", {"l/layer.tar": "../../x"}),
        ("ok/layer.tar", {"ok/layer.tar": "/etc/passwd"}),
    ],
)
def test_archive_names_and_links_cannot_escape(
    tmp_path: Path, layer_name: str, links: dict[str, str]
) -> None:
    config = json.dumps({"architecture": "386", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    manifest = json.dumps([{"Config": "c.json", "Layers": [layer_name]}]).encode()
    path = tmp_path / "evil.tar"
    path.write_bytes(tar_of({"c.json": config.encode(), "manifest.json": manifest}, links))
    with pytest.raises(BadInputError, match=r"escape|absolute"):
        store.read_source(path)


def test_archive_member_with_dotdot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.tar"
    path.write_bytes(tar_of({"manifest.json": b"[]", "../x": b"boom"}))
    with pytest.raises(BadInputError, match="escapes"):
        store.read_source(path)
