"""Stage 1 on Image values from a fetch that verifies nothing (as a lax registry adapter might):
the judge re-checks every byte itself. No engine is involved: it must never be asked for one."""

from __future__ import annotations

import contextlib
import dataclasses
import tarfile
from collections.abc import Callable

import pytest

from imagegolf.engine import Engine
from imagegolf.errors import DigestMismatchError, EnvironmentProblem
from imagegolf.judge import Judgement, JudgeOptions, Verdict, judge_sources
from imagegolf.judge.sources import SourceNotFound
from imagegolf.oci import media
from imagegolf.oci.image import Image
from imagegolf.platform import LINUX_AMD64, LINUX_ARM64, Platform, Wanted
from imagegolf.registry.errors import NotFound, RegistryUnreachable
from tests.judge.images import (
    PHRASE,
    busybox,
    busybox_layer,
    busybox_parts,
    index_of,
    member,
    parts,
    tar_layer,
)


def no_engine() -> contextlib.AbstractContextManager[Engine]:
    raise AssertionError("stage 1 must decide this image without an engine")


def judge(fetch: Callable[[str, Platform | None], Image], source: str = "src") -> Judgement:
    (judgement,) = judge_sources([source], fetch=fetch, engine=no_engine, options=JudgeOptions(PHRASE))
    return judgement


def serve(image: Image) -> Callable[[str, Platform | None], Image]:
    return lambda source, platform: image


GOOD = busybox_parts(None)


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (parts([busybox_layer()], descriptor_extra={"size": 4096}).image(), "descriptor says 4096"),
        (dataclasses.replace(GOOD.image(), layers=(busybox_layer()[:-1] + b"\1",)), "content is sha256:"),
        (parts([busybox_layer()], diff_ids=["sha256:" + "1" * 64]).image(), "diff_id"),
        (parts([busybox_layer()], descriptor_extra={"urls": ["http://x/l"]}).image(), "foreign layer"),
        (parts([busybox_layer()], layer_media_type="application/x-evil").image(), "accepts tar, tar+gzip"),
        (parts([busybox_layer()], layer_media_type=media.OCI_LAYER_ZSTD).image(), "is not zstd data"),
        (parts([tar_layer(member(f"f{i}", b"x")) for i in range(17)]).image(), "number of layers"),
        (parts([busybox_layer()], {"Env": ["X=" + "x" * 70_000]}).image(), "size of the config"),
        (
            parts([busybox_layer()], manifest_extra={"annotations": {"a": "x" * 70_000}}).image(),
            "size of the manifest",
        ),
        (GOOD.image(index=index_of((busybox_parts("echo other"), None))), "not one the image index lists"),
        (GOOD.image(index=index_of((GOOD, LINUX_ARM64))), "lists this manifest for linux/arm64/v8"),
        (GOOD.image(index=b"x" * 70_000), "size of the image index"),
    ],
    ids=[
        "lying-size",
        "hash-mismatch",
        "diff-ids",
        "urls",
        "unknown-media-type",
        "zstd",
        "17-layers",
        "huge-config",
        "huge-manifest",
        "index-does-not-list",
        "index-platform-lies",
        "huge-index",
    ],
)
def test_a_lax_fetch_does_not_get_hostile_bytes_past_the_judge(image: Image, reason: str) -> None:
    judgement = judge(serve(image))
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert reason in judgement.reason, judgement.reason
    assert judgement.digest == image.manifest_digest and judgement.metrics is None


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (NotFound("manifest unknown", status=404, code="MANIFEST_UNKNOWN"), Verdict.PULL_FAILED),
        (RegistryUnreachable("registry.example does not answer"), Verdict.PULL_FAILED),
        (SourceNotFound("no such file"), Verdict.PULL_FAILED),
        (RuntimeError("anything else"), Verdict.PULL_FAILED),
        (DigestMismatchError("blob content is sha256:…"), Verdict.REJECTED_IMAGE),
    ],
)
def test_fetch_failures(error: Exception, verdict: Verdict) -> None:
    def fetch(source: str, wanted: Wanted) -> Image:
        raise error

    judgement = judge(fetch)
    assert judgement.verdict is verdict
    assert str(error) in judgement.reason


def test_the_platform_asked_for_reaches_the_fetch_and_must_match_the_config() -> None:
    asked: list[Wanted] = []

    def fetch(source: str, wanted: Wanted) -> Image:
        asked.append(wanted)
        return GOOD.image()

    options = JudgeOptions(PHRASE, platforms=(LINUX_ARM64,))
    (judgement,) = judge_sources(["src"], fetch=fetch, engine=no_engine, options=options)
    assert asked == [Wanted((LINUX_ARM64,), asked=True)]
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert "is for linux/amd64, not linux/arm64" in judgement.reason


def test_one_failing_image_does_not_stop_the_others() -> None:
    def fetch(source: str, wanted: Wanted) -> Image:
        if source == "broken":
            return "not an image"  # type: ignore[return-value]
        return parts([busybox_layer()], descriptor_extra={"size": 1}).image()

    judgements = judge_sources(
        ["broken", "lying"], fetch=fetch, engine=no_engine, options=JudgeOptions(PHRASE)
    )
    assert [j.verdict for j in judgements] == [Verdict.INTERNAL_ERROR, Verdict.REJECTED_IMAGE]
    assert "bug in imagegolf" in judgements[0].reason


def test_an_unreachable_engine_stops_the_judging() -> None:
    def engine() -> contextlib.AbstractContextManager[Engine]:
        raise EnvironmentProblem("no container engine is running")

    with pytest.raises(EnvironmentProblem):
        judge_sources(["ok"], fetch=serve(GOOD.image()), engine=engine, options=JudgeOptions(PHRASE))


def test_config_overrides_are_noted() -> None:
    from imagegolf.judge.host import current_host
    from imagegolf.judge.screen import Candidate, screen

    image = busybox_parts(
        "true",
        User="0:0",
        WorkingDir="/proc/self/fd",
        Volumes={"/data": {}, "/var/lib/x/": {}},
        Healthcheck={"Test": ["CMD", "true"]},
        StopSignal="SIGUSR1",
        ExposedPorts={"80/tcp": {}},
        Privileged=True,
    ).image()
    candidate = screen("src", serve(image), JudgeOptions(PHRASE), current_host())
    assert isinstance(candidate, Candidate)
    assert candidate.volumes == ("/data", "/var/lib/x")
    notes = " | ".join(candidate.notes)
    for needle in (
        "User '0:0'",
        "WorkingDir '/proc/self/fd'",
        "Healthcheck",
        "StopSignal",
        "ExposedPorts",
        "config fields Privileged",
        "Volumes /data, /var/lib/x",
    ):
        assert needle in notes


@pytest.mark.parametrize("volume", ["relative", "/", "/dev/shm", "/sys/x", "/proc"])
def test_volumes_no_run_can_honour_are_refused(volume: str) -> None:
    judgement = judge(serve(busybox_parts("true", Volumes={volume: {}}).image()))
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert "Volume" in judgement.reason


def test_a_volume_through_a_symlink_is_refused() -> None:
    layer = tar_layer(member("bin/busybox", b"x"), member("data", kind=tarfile.SYMTYPE, link="/etc"))
    judgement = judge(serve(parts([layer], {"Cmd": ["/bin/busybox"], "Volumes": {"/data/x": {}}}).image()))
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert "symlink /data" in judgement.reason


def test_metrics_are_computed_from_the_bytes_the_judge_holds() -> None:
    from imagegolf.judge.host import current_host
    from imagegolf.judge.screen import Candidate, screen
    from imagegolf.oci.metrics import size_metrics

    image = GOOD.image()
    candidate = screen("src", serve(image), JudgeOptions(PHRASE), current_host())
    assert isinstance(candidate, Candidate)
    assert candidate.metrics == size_metrics(image)
    assert candidate.metrics.docker_classic == len(busybox())  # one file (and a directory: 0)
    assert candidate.digest == image.manifest_digest
    assert candidate.image.platform == LINUX_AMD64


def test_a_copy_of_an_earlier_image_is_noted() -> None:
    from imagegolf.judge.core import _flag_copies
    from imagegolf.judge.host import current_host
    from imagegolf.judge.screen import screen

    original = busybox_parts(f"echo {PHRASE}").image()
    copy = busybox_parts(f"echo {PHRASE}", User="0").image()  # another config, the same layers
    screened = [
        screen(name, serve(image), JudgeOptions(PHRASE), current_host())
        for name, image in (("first", original), ("second", copy))
    ]
    first, second = _flag_copies(screened)
    assert not [n for n in first.notes if "copy" in n]
    assert any("identical to those of first" in n for n in second.notes)
