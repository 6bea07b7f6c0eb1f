"""zstd layers in the judge, on the real engines: podman unpacks them (the judge accepts and measures
the image), dockerd 20.10 cannot (a REJECTED_IMAGE naming the engine, and the image is never
handed to it), containerd 1.6 imports them; a media type that lies about zstd is refused first.

Images come from zstandard (tests/oci/test_zstd.py checks it against the zstd command) and from
the real clients: ``podman push --compression-format zstd`` and ``zstd:chunked`` to a registry.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import zstandard

from imagegolf import elf, oci, store
from imagegolf.digest import Digest
from imagegolf.engine import Engine
from imagegolf.judge import JudgeOptions, Verdict, judge_one, judge_sources, local_fetch
from imagegolf.oci import media
from imagegolf.oci.build import record_mode
from imagegolf.oci.config import build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.gzip import gzip_bytes
from imagegolf.oci.image import Image
from imagegolf.oci.manifest import build_manifest, parse_manifest
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_write import write_tar
from imagegolf.platform import LINUX_386
from tests.cli.run_cli import cli
from tests.judge.images import PHRASE, busybox, layered_image, parts
from tests.registry_services import DistributionRegistry
from tests.services import Containerd, Dockerd, Podman, require
from tests.store.test_containerd import assert_ctr_size, ctr_image_row

PROGRAM = elf.build_program(f"{PHRASE}\n".encode(), LINUX_386)
RECORD_TAR = write_tar([TarEntry.file("a", PROGRAM, record_mode(LINUX_386))], compact=True)
TOC = b'{"version":1,"entries":[{"type":"reg","name":"a"}]}'


def skippable(payload: bytes) -> bytes:
    return (0x184D2A50).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


def zstd_image(tar: bytes, blob: bytes, cmd: list[str]) -> Image:
    config = build_config(LINUX_386, [Digest.of(tar)], cmd=cmd)
    layer = Descriptor.of(media.OCI_LAYER_ZSTD, blob)
    manifest = build_manifest(Descriptor.of(media.OCI_CONFIG, config), [layer])
    return Image(parse_manifest(manifest, media_type=media.OCI_MANIFEST), parse_config(config), (blob,))


def zstd_record(shape: str = "zstd") -> Image:
    """The record ELF in a zstd layer: one frame, or zstd:chunked's shape (two frames, then its
    table of contents in a skippable frame)."""
    compressor = zstandard.ZstdCompressor(level=19, write_checksum=True)
    if shape == "zstd":
        blob = compressor.compress(RECORD_TAR)
    else:
        frames = compressor.compress(RECORD_TAR[:512]) + compressor.compress(RECORD_TAR[512:])
        blob = frames + skippable(zstandard.ZstdCompressor().compress(TOC)) + skippable(bytes(40))
    return zstd_image(RECORD_TAR, blob, ["/a"])


def docker_version(dockerd: Dockerd) -> str:
    return dockerd.docker("version", "--format", "{{.Server.Version}}").stdout.decode().strip()


@pytest.mark.engine
def test_dockerd_20_10_reads_a_zstd_layer_as_a_plain_tar_and_refuses_it(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    """What `docker load` says on Docker Engine < 23 (moby 20.10 ``DetectCompression`` has no zstd)."""
    assert docker_version(dockerd).startswith("20.10."), "the judge's zstd rule names Docker ≥ 23"
    small = store.write_dual_tar(zstd_record(), tmp_path / "small.tar", "localhost/igtest/zstd-small:1")
    tar = write_tar([TarEntry.directory("bin"), TarEntry.file("bin/busybox", busybox(), 0o755)])
    big_image = zstd_image(tar, zstandard.ZstdCompressor().compress(tar), ["/bin/busybox", "echo", PHRASE])
    big = store.write_dual_tar(big_image, tmp_path / "big.tar", "localhost/igtest/zstd-big:1")
    said = {}
    for name, path in (("small", small), ("big", big)):
        loaded = dockerd.docker("load", "-i", str(path), check=False)
        assert loaded.returncode == 1
        said[name] = loaded.stderr.decode().strip()
    # The layer's bytes go to Go's archive/tar as they are: under 512 bytes it finds no header.
    assert said == {
        "small": "Error processing tar file(exit status 1): unexpected EOF",
        "big": "Error processing tar file(exit status 1): archive/tar: invalid tar header",
    }
    assert b"zstd" not in dockerd.docker("images").stdout


@pytest.mark.engine
@pytest.mark.parametrize("shape", ["zstd", "chunked-shape"])
def test_a_zstd_record_is_accepted_on_podman_and_named_on_dockerd_20_10(
    engine: Engine, shape: str, tmp_path: Path
) -> None:
    image = zstd_record(shape)
    path = store.write_dual_tar(image, tmp_path / "zstd.tar", "localhost/igtest/zstd-record:1")
    before = engine.api.sdk.images()
    judgement = judge_one(str(path), fetch=local_fetch, engine=engine, options=JudgeOptions(PHRASE))
    assert judgement.digest == image.manifest_digest
    assert judgement.metrics == oci.size_metrics(image)  # measured from the bytes either way
    assert judgement.metrics.docker_classic == len(PROGRAM)
    if engine.kind == "podman":
        # cross_check is on: podman's stored Size equalled the `podman` metric before the runs.
        assert judgement.verdict is Verdict.ACCEPTED, judgement.reason
        assert [run.stdout for run in judgement.runs] == [f"{PHRASE}\n".encode()] * 3
    else:
        version = engine.api.version().version
        assert judgement.verdict is Verdict.REJECTED_IMAGE
        assert judgement.reason == (
            f"docker {version} cannot unpack zstd layers (Docker ≥ 23 can; podman can): layer 1 is "
            f"{media.OCI_LAYER_ZSTD}, which it would read as a plain tar, so the image was not loaded"
        )
        assert judgement.runs == ()
        assert engine.api.sdk.images() == before  # never handed to dockerd


@pytest.mark.engine
def test_the_cli_verdict_names_dockerd(dockerd: Dockerd, tmp_path: Path) -> None:
    path = store.write_dual_tar(zstd_record(), tmp_path / "zstd.tar", "localhost/igtest/zstd-cli:1")
    result = cli("judge", str(path), "--phrase", PHRASE, "--json", environ={"DOCKER_HOST": dockerd.url})
    assert result.code == 1, result.stderr
    [judged] = json.loads(result.stdout)
    assert judged["verdict"] == "REJECTED_IMAGE"
    assert judged["reason"].startswith(f"docker {docker_version(dockerd)} cannot unpack zstd layers")
    assert judged["metrics"] == oci.size_metrics(zstd_record()).as_dict()


def skopeo_raw(ref: str) -> bytes:
    command = [require("skopeo"), "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"]
    return subprocess.run(command, capture_output=True, check=True, timeout=120).stdout


# podman 4.3's zstd:chunked compressor never finishes on the record's compact tar (no end-of-archive
# blocks: it waits for them), so the chunked case pushes busybox in a standard tar.
BUSYBOX_FILES = [TarEntry.directory("bin"), TarEntry.file("bin/busybox", busybox(), 0o755)]


@pytest.mark.engine
@pytest.mark.parametrize("compression", ["zstd", "zstd:chunked"])
def test_podman_pushed_zstd_images_inspect_to_podmans_own_sizes(
    compression: str,
    registry_open: DistributionRegistry,
    podman: Podman,
    fresh_podman: Podman,
    podman_engine: Engine,
    tmp_path: Path,
) -> None:
    # Bytes no earlier push had: podman's blob-info cache (shared by every store of this host)
    # would otherwise reuse a gzip copy of the same layer the registry already holds.
    fresh = f"{PHRASE} {uuid.uuid4().hex}\n".encode()
    program = elf.build_program(fresh, LINUX_386)
    unique = TarEntry.file("fresh", fresh, 0o644)
    chunked = layered_image([[*BUSYBOX_FILES, unique]], ["/bin/busybox", "echo", PHRASE])
    image = oci.build_record_image(program, LINUX_386) if compression == "zstd" else chunked
    files = len(program) if compression == "zstd" else len(busybox()) + len(fresh)
    local = f"localhost/igtest/zstd-push-{image.manifest_digest.short}:gz"
    podman.podman("load", "-i", str(store.write_dual_tar(image, tmp_path / "gz.tar", local)))
    ref = f"{registry_open.host}/igtest/{compression.replace(':', '-')}:1"
    podman.podman("push", "--quiet", "--tls-verify=false", "--compression-format", compression, local, ref)
    podman.podman("rmi", local)
    raw = skopeo_raw(ref)
    manifest = json.loads(raw)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == media.OCI_LAYER_ZSTD
    if compression == "zstd:chunked":
        assert "io.containers.zstd-chunked.manifest-checksum" in layer["annotations"]

    inspected = cli("inspect", ref, "--json")
    assert inspected.code == 0, inspected.stderr
    metrics = json.loads(inspected.stdout)["metrics"]
    pulled = len(raw) + manifest["config"]["size"] + layer["size"]
    assert metrics["registry_compressed"] == layer["size"]
    assert metrics["pull_bytes"] == metrics["containerd_content"] == pulled
    assert metrics["docker_classic"] == files
    fresh_podman.podman("pull", "--quiet", "--tls-verify=false", ref)
    size = fresh_podman.podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.decode().strip()
    assert int(size) == metrics["podman"]

    # And the judge accepts the very bytes podman wrote, on podman.
    archive = tmp_path / "pulled.tar"
    assert cli("pull", ref, "-o", str(archive)).code == 0
    judgement = judge_one(str(archive), fetch=local_fetch, engine=podman_engine, options=JudgeOptions(PHRASE))
    assert judgement.verdict is Verdict.ACCEPTED, judgement.reason
    assert judgement.metrics is not None and judgement.metrics.as_dict() == metrics


@pytest.mark.engine
def test_containerd_content_of_a_zstd_image_equals_ctr(containerd: Containerd, tmp_path: Path) -> None:
    image = zstd_record("chunked-shape")
    name = f"localhost/igtest/zstd-ctr-{image.manifest_digest.short}:1"
    containerd.ctr("images", "import", str(store.write_dual_tar(image, tmp_path / "z.tar", name)))
    digest, size, unit = ctr_image_row(containerd, name)
    assert digest == str(image.manifest_digest)
    assert_ctr_size(size, unit, oci.size_metrics(image).containerd_content)


def no_engine() -> contextlib.AbstractContextManager[Engine]:
    raise AssertionError("a lying media type is decided without an engine")


@pytest.mark.parametrize(
    ("blob", "media_type", "words"),
    [
        (
            zstandard.ZstdCompressor().compress(RECORD_TAR),
            media.OCI_LAYER_GZIP,
            "not gzip data (it holds zstd",
        ),
        (gzip_bytes(RECORD_TAR), media.OCI_LAYER_ZSTD, "not zstd data (it holds gzip data)"),
        (zstandard.ZstdCompressor().compress(RECORD_TAR), media.OCI_LAYER, "(uncompressed) holds zstd data"),
        (RECORD_TAR, media.OCI_LAYER_ZSTD, "is not zstd data"),
    ],
    ids=["zstd-declared-gzip", "gzip-declared-zstd", "zstd-declared-tar", "tar-declared-zstd"],
)
def test_a_media_type_that_lies_about_zstd_is_rejected(
    blob: bytes, media_type: str, words: str, tmp_path: Path
) -> None:
    lying = parts([blob], {"Cmd": ["/a"]}, diff_ids=[str(Digest.of(RECORD_TAR))], layer_media_type=media_type)
    image = lying.image()
    path = store.write_dual_tar(image, tmp_path / "lying.tar", "localhost/igtest/lying:1")
    (judgement,) = judge_sources(
        [str(path)], fetch=local_fetch, engine=no_engine, options=JudgeOptions(PHRASE)
    )
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert f"a layer declared {media_type}" in judgement.reason and words in judgement.reason
    assert judgement.metrics is None and judgement.runs == ()
