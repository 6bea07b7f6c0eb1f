"""The judge's orchestration on the in-memory engine (tests/fakes/engine.py): verdicts from run
results, refusals, the cross-check, cleanup of images and containers. No engine runs: each test
takes milliseconds. What a real engine does with the same images is in the engine tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest

from imagegolf.digest import Digest
from imagegolf.engine import Engine, RunSpec, StoredSize
from imagegolf.errors import EngineError, EnvironmentProblem, UsageError
from imagegolf.judge import Judgement, JudgeOptions, MatchMode, Verdict, judge_one, judge_sources
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.judge.sandbox_run import judge_image_name, sweep_leftovers
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import size_metrics
from imagegolf.oci.validate import validate_image
from imagegolf.platform import Wanted
from tests.fakes.engine import (
    FakeEngine,
    exited,
    flooded,
    oom_killed,
    refused_to_start,
    status_lost,
    timed_out,
)
from tests.judge.images import PHRASE, busybox_parts

SAID = f"{PHRASE}\n".encode()
OPTIONS = JudgeOptions(PHRASE, cross_check=False)


@pytest.fixture(scope="module")
def image() -> Image:
    return busybox_parts(Cmd=["/bin/busybox", "echo", PHRASE]).image()


def serve(image: Image) -> Callable[[str, Wanted], Image]:
    return lambda source, wanted: image


def judge(engine: FakeEngine, image: Image, options: JudgeOptions = OPTIONS) -> Judgement:
    return judge_one("src", fetch=serve(image), engine=engine, options=options)


def assert_clean(engine: FakeEngine) -> None:
    assert engine.images == {} and engine.live_containers == {}


def test_the_fake_is_an_engine() -> None:
    engine: Engine = FakeEngine()  # the protocol, checked by mypy where tests are typed
    assert engine.kind == "podman" and engine.describe().startswith("podman 4.3.1")


def test_the_right_output_in_every_run_is_accepted_and_nothing_is_left(image: Image) -> None:
    engine = FakeEngine(default=exited(0, SAID))
    judgement = judge(engine, image)
    assert judgement.verdict is Verdict.ACCEPTED, judgement.reason
    assert judgement.reason.startswith("all 3 runs exited 0")
    assert [r.verdict for r in judgement.runs] == [Verdict.ACCEPTED] * 3
    assert judgement.any_exit is Verdict.ACCEPTED and judgement.digest == image.manifest_digest
    assert engine.ops() == ["for_runtime", "load", "run", "run", "run", "remove_image"]
    (loaded,) = [c.args for c in engine.calls if c.op == "remove_image"]
    assert str(loaded[0]).startswith("localhost/imagegolf-judge-") and loaded[1] is False
    assert_clean(engine)


def test_the_entrypoint_can_be_scripted(image: Image) -> None:
    engine = FakeEngine().script(image.config.argv, exited(0, b"something else\n"))
    judgement = judge(engine, image)
    assert judgement.verdict is Verdict.WRONG_OUTPUT
    assert judgement.reason.startswith("run 1 of 3: stdout 'something else\\n' does not contain")
    assert engine.ops().count("run") == 1  # no run can pass any more: stop
    assert_clean(engine)


@pytest.mark.parametrize(
    ("result", "verdict", "said"),
    [
        (exited(0, b""), Verdict.NO_OUTPUT, "it exited 0 but wrote nothing to stdout"),
        (exited(0, b"hi\r" + SAID), Verdict.WRONG_OUTPUT, "U+000D (CARRIAGE RETURN)"),
        (timed_out(SAID), Verdict.TIMEOUT, "it had printed the phrase, but a program must also exit"),
        (oom_killed(), Verdict.MEMORY_LIMIT, "by the out-of-memory killer: the memory limit is 64 MiB"),
        (exited(137, SAID), Verdict.MEMORY_LIMIT, "by SIGKILL"),
        (flooded(b"x" * 100), Verdict.OUTPUT_LIMIT, "more than 1 MiB to stdout"),
        (exited(127), Verdict.START_FAILED, "exit status 127: the runtime could not execute the command"),
        (
            refused_to_start("OCI runtime create failed"),
            Verdict.START_FAILED,
            "could not start the container",
        ),
        (exited(1, b"", b"oops\n"), Verdict.RUNTIME_ERROR, "(5 bytes on stderr, which is shown but never"),
    ],
)
def test_each_kind_of_run_gets_its_verdict(image: Image, result: object, verdict: Verdict, said: str) -> None:
    engine = FakeEngine(default=result)  # type: ignore[arg-type]
    judgement = judge(engine, image, JudgeOptions(PHRASE, runs=1, cross_check=False))
    assert judgement.verdict is verdict and said in judgement.reason, judgement.reason
    assert_clean(engine)


def test_a_nonzero_exit_with_the_phrase_fails_only_the_strict_exit_rule(image: Image) -> None:
    engine = FakeEngine(default=exited(3, SAID))
    strict = judge(engine, image)
    assert strict.verdict is Verdict.RUNTIME_ERROR and strict.any_exit is Verdict.ACCEPTED
    assert "after printing the phrase: a program must exit 0" in strict.reason
    assert len(strict.runs) == 3  # every run still passes under the free rule: all are run
    free = judge(
        FakeEngine(default=exited(3, SAID)), image, JudgeOptions(PHRASE, exit=ExitRule.ANY, cross_check=False)
    )
    assert free.verdict is Verdict.ACCEPTED and "ended (any exit status)" in free.reason


def test_a_later_run_that_fails_is_named(image: Image) -> None:
    engine = FakeEngine().script(image.config.argv, exited(0, SAID), timed_out())
    judgement = judge(engine, image)
    assert judgement.verdict is Verdict.TIMEOUT and judgement.reason.startswith("run 2 of 3: ")
    assert engine.ops().count("run") == 2


def test_a_lost_exit_status_is_run_again_once(image: Image) -> None:
    engine = FakeEngine().script(image.config.argv, status_lost(), exited(0, SAID))
    judgement = judge(engine, image, JudgeOptions(PHRASE, runs=1, cross_check=False))
    assert judgement.verdict is Verdict.ACCEPTED and engine.ops().count("run") == 2
    twice = FakeEngine(default=status_lost())
    lost = judge(twice, image, JudgeOptions(PHRASE, runs=1, cross_check=False))
    assert lost.verdict is Verdict.INTERNAL_ERROR and "lost the container's exit status twice" in lost.reason
    assert twice.ops().count("run") == 2


def test_an_archive_the_engine_refuses_is_rejected_and_never_run(image: Image) -> None:
    engine = FakeEngine(refuse_loads="invalid tar header")
    judgement = judge(engine, image)
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert judgement.reason == "the engine refused the image archive: invalid tar header"
    assert "run" not in engine.ops() and "remove_image" not in engine.ops()


def test_the_phrase_in_the_config_is_refused_under_the_files_rule_before_any_load(image: Image) -> None:
    engine = FakeEngine(default=exited(0, SAID))
    judgement = judge(engine, image, JudgeOptions(PHRASE, message=MessageRule.FILES, cross_check=False))
    assert judgement.verdict is Verdict.REJECTED_IMAGE and judgement.phrase_in == "config"
    assert "(message rule: files)" in judgement.reason and "--" not in judgement.reason
    assert engine.calls == []


def metrics_of(image: Image) -> int:
    return size_metrics(image, validate_image(image)).podman


def test_the_cross_check_compares_the_stored_size_with_the_metric(image: Image) -> None:
    right = FakeEngine(default=exited(0, SAID), sizes=lambda i: StoredSize("podman", metrics_of(i)))
    assert judge(right, image, JudgeOptions(PHRASE)).verdict is Verdict.ACCEPTED
    assert right.ops()[:4] == ["for_runtime", "has_image", "load", "stored_size"]
    wrong = FakeEngine(default=exited(0, SAID), sizes=lambda i: StoredSize("podman", metrics_of(i) + 1))
    judgement = judge(wrong, image, JudgeOptions(PHRASE))
    assert (
        judgement.verdict is Verdict.REJECTED_IMAGE
        and "the two read its layers differently" in judgement.reason
    )
    assert "run" not in wrong.ops()
    assert_clean(wrong)  # the image loaded for the check is removed


def test_podmans_size_of_an_image_it_already_held_is_not_compared(image: Image) -> None:
    engine = FakeEngine(default=exited(0, SAID), sizes=lambda i: StoredSize("podman", 1))
    engine.images["localhost/earlier:1"] = image  # the same image ID, loaded before
    assert judge(engine, image, JudgeOptions(PHRASE)).verdict is Verdict.ACCEPTED
    assert list(engine.images) == ["localhost/earlier:1"]  # only the judge's own name is removed


def test_a_failure_inside_a_run_is_an_internal_error_and_the_image_is_removed(image: Image) -> None:
    engine = FakeEngine(default=RuntimeError("boom"))
    judgement = judge(engine, image)
    assert judgement.verdict is Verdict.INTERNAL_ERROR and "RuntimeError: boom" in judgement.reason
    assert_clean(engine)


def test_an_engine_that_vanishes_stops_the_whole_judging(image: Image) -> None:
    engine = FakeEngine(default=exited(0, SAID))

    def vanishing(image: Image, spec: object) -> object:
        engine.vanish()
        raise EngineError("engine at unix:///fake/engine.sock stopped answering")

    engine.script(image.config.argv, vanishing)  # type: ignore[arg-type]
    with pytest.raises(EnvironmentProblem, match="stopped answering"):
        judge(engine, image)


def test_a_runtime_the_engine_lacks_stops_the_judging(image: Image) -> None:
    engine = FakeEngine(default=exited(0, SAID), runtimes=frozenset({"runc"}))
    options = JudgeOptions(PHRASE, cross_check=False, spec=RunSpec(runtime="runsc"))
    with pytest.raises(EngineError, match="no runtime runsc"):
        judge(engine, image, options)


def test_images_judged_at_once_keep_their_order_and_share_no_state(image: Image) -> None:
    other = busybox_parts(Cmd=["/bin/busybox", "echo", "nope"]).image()
    engine = FakeEngine(default=exited(0, SAID)).script(other.config.argv, exited(0, b"nope\n"))
    fetch = {"a": image, "b": other, "c": image}
    judgements = judge_sources(
        list(fetch),
        fetch=lambda source, wanted: fetch[source],
        engine=lambda: contextlib.nullcontext(engine),
        options=JudgeOptions(PHRASE, jobs=3, cross_check=False),
    )
    assert [(j.source, j.verdict) for j in judgements] == [
        ("a", Verdict.ACCEPTED),
        ("b", Verdict.WRONG_OUTPUT),
        ("c", Verdict.ACCEPTED),
    ]
    assert "identical to those of a" in " ".join(judgements[2].notes)
    assert_clean(engine)


def test_sweeping_removes_what_a_killed_judge_left_and_nothing_else(image: Image) -> None:
    engine = FakeEngine()
    old = judge_image_name("0123456789ab").replace(str(int(time.time())), str(int(time.time()) - 7200))
    fresh = judge_image_name("0123456789ab")
    for name in (old, fresh, "localhost/someone-else:1"):
        engine.images[name] = image
    leftover = engine.leave_container(old)
    running = engine.leave_container(fresh)
    assert sweep_leftovers(engine, 3600) == (1, 1)
    assert set(engine.images) == {fresh, "localhost/someone-else:1"}
    assert set(engine.live_containers) == {running} and leftover not in engine.live_containers


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"jobs": 0}, "jobs 0: give between 1 and 16"),
        ({"runs": 21}, "runs 21: give between 1 and 20 runs"),
        ({"phrase": ""}, "the phrase is empty"),
        ({"phrase": "two\nlines", "match": MatchMode.LINE}, "match 'line': the phrase must be one line"),
    ],
)
def test_settings_errors_name_the_setting_not_a_flag(settings: dict[str, object], said: str) -> None:
    with pytest.raises(UsageError) as error:
        JudgeOptions(**{"phrase": PHRASE, **settings})  # type: ignore[arg-type]
    assert said in str(error.value) and "--" not in str(error.value)


def test_a_digest_names_a_loaded_image(image: Image) -> None:
    engine = FakeEngine()
    engine.images["x:1"] = image
    assert engine.has_image(str(image.config.digest)) and not engine.has_image(str(Digest.of(b"")))
