"""The judge checks its score against the size the engine it ran the image in stores."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from imagegolf import elf, oci, store
from imagegolf.engine import Engine, RunSpec
from imagegolf.engine.client import DockerApiEngine, StoredSize
from imagegolf.judge import JudgeOptions, Verdict, judge_one, local_fetch
from imagegolf.platform import LINUX_386
from tests.judge.images import PHRASE

pytestmark = pytest.mark.engine
OPTIONS = JudgeOptions(PHRASE, runs=1, spec=RunSpec(timeout_s=5))


@pytest.fixture
def record(tmp_path: Path) -> tuple[Path, oci.Image]:
    # An image new to the engine's store (podman's size is compared only then): unique bytes.
    message = f"{PHRASE} {uuid.uuid4().hex[:8]}\n".encode()
    image = oci.build_record_image(elf.build_program(message, LINUX_386), LINUX_386)
    return store.write_dual_tar(image, tmp_path / "record.tar", "localhost/igtest/cross:1"), image


def test_each_engine_reports_the_size_of_one_metric(engine: Engine, record: tuple[Path, oci.Image]) -> None:
    _, image = record
    name = "localhost/igtest/cross-size:1"
    engine.load(store.dual_tar_bytes(image, name))
    try:
        stored = engine.stored_size(name)
    finally:
        engine.remove_image(name)
    metrics = oci.size_metrics(image)
    expected = {"podman": StoredSize("podman", metrics.podman), "docker": StoredSize("docker_classic", 80)}
    assert stored == expected[engine.kind]


def test_the_judge_accepts_when_the_engine_agrees(engine: Engine, record: tuple[Path, oci.Image]) -> None:
    judgement = judge_one(str(record[0]), fetch=local_fetch, engine=engine, options=OPTIONS)
    assert judgement.verdict is Verdict.ACCEPTED, judgement.reason


def test_a_size_the_engine_disagrees_with_is_refused(
    engine: Engine, record: tuple[Path, oci.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mismatch cannot happen while the reader follows the engines: inject it at the seam.
    real = DockerApiEngine.stored_size

    def lying(self: DockerApiEngine, name: str) -> StoredSize | None:
        stored = real(self, name)
        assert stored is not None
        return StoredSize(stored.metric, stored.size + 13_000)

    monkeypatch.setattr(DockerApiEngine, "stored_size", lying)
    judgement = judge_one(str(record[0]), fetch=local_fetch, engine=engine, options=OPTIONS)
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert "the engine stores this image at" in judgement.reason
    assert "read its layers differently" in judgement.reason and judgement.runs == ()
    trusting = JudgeOptions(PHRASE, runs=1, cross_check=False)
    unchecked = judge_one(str(record[0]), fetch=local_fetch, engine=engine, options=trusting)
    assert unchecked.verdict is Verdict.ACCEPTED
