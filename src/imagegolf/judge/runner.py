"""Stage 2: run the checked bytes N times through the one run path, give each run a verdict."""

from __future__ import annotations

from typing import Any

from imagegolf.engine.protocol import Engine, ImageRefused, RunResult
from imagegolf.judge.matching import check_output
from imagegolf.judge.message_place import phrase_in_metadata
from imagegolf.judge.options import ExitRule, JudgeOptions, MessageRule
from imagegolf.judge.sandbox_run import SandboxRun, run_image
from imagegolf.judge.screen import Candidate
from imagegolf.judge.verdict import Judgement, RunRecord, Verdict
from imagegolf.oci import media
from imagegolf.oci.image import Image

SIGKILL_STATUS = 128 + 9
ZSTD_DOCKER_MAJOR = 23  # Docker Engine 23.0 (moby pkg/archive) is the first to unpack zstd layers


def run_candidate(candidate: Candidate, engine: Engine, options: JudgeOptions) -> Judgement:
    """Load, run up to ``options.runs`` times (stopping at the first run that fails under either
    exit rule), unload."""
    phrase_in = phrase_in_metadata(candidate.image, options.phrase, options.match)
    if phrase_in is not None and options.message is MessageRule.FILES:
        reason = (
            f"the image's {phrase_in} holds the phrase: these rules take only images whose files "
            "make it (message rule: files)"
        )
        return _judgement(candidate, Verdict.REJECTED_IMAGE, reason, (), phrase_in=phrase_in)
    if not candidate.launch.argv:
        problem = candidate.launch.problem or "no command"
        return _judgement(candidate, Verdict.START_FAILED, problem, (), phrase_in=phrase_in)
    # dockerd runs each container under the runtime asked; a podman service imagegolf started has a
    # sibling service for it (started on first use); another engine without it is an environment error.
    engine = engine.for_runtime(options.spec.runtime)
    cannot = cannot_unpack(engine, candidate.image)
    if cannot:
        return _judgement(candidate, Verdict.REJECTED_IMAGE, cannot, (), phrase_in=phrase_in)
    try:
        records = run_image(
            engine,
            candidate.image,
            options.spec.masking(candidate.volumes),
            lambda run: classify(run, options),
            runs=options.runs,
            # On while a run passes under either exit rule, so both verdicts cover every run.
            again=lambda record: Verdict.ACCEPTED in (record.verdict, record.free_verdict),
            diagnosis=candidate.launch.problem,
            expected=candidate.metrics if options.cross_check else None,
        )
    except ImageRefused as error:
        return _judgement(candidate, Verdict.REJECTED_IMAGE, str(error), (), phrase_in=phrase_in)
    free = next((r.free_verdict for r in records if r.free_verdict is not Verdict.ACCEPTED), None)
    facts: dict[str, Any] = {"any_exit": free or Verdict.ACCEPTED, "phrase_in": phrase_in}
    failed = next(((n, r) for n, r in enumerate(records, 1) if r.verdict is not Verdict.ACCEPTED), None)
    if failed is None:
        runs = "the run" if options.runs == 1 else f"all {options.runs} runs"
        exited = "exited 0" if options.exit is ExitRule.ZERO else "ended (any exit status)"
        reason = f"{runs} {exited} with stdout that {options.match.describe()}"
        return _judgement(candidate, Verdict.ACCEPTED, reason, tuple(records), **facts)
    number, record = failed
    prefix = "" if options.runs == 1 else f"run {number} of {options.runs}: "
    return _judgement(candidate, record.verdict, prefix + record.reason, tuple(records), **facts)


def cannot_unpack(engine: Engine, image: Image) -> str | None:
    """Why ``engine`` cannot unpack the image's layers (the reason of a REJECTED_IMAGE), or None.

    Docker Engine before 23 has no zstd: moby 20.10's ``DetectCompression`` knows gzip, bzip2 and
    xz, so it reads a zstd layer as a plain tar and ``docker load`` fails ("Error processing tar
    file(exit status 1): archive/tar: invalid tar header", or "unexpected EOF" for a layer under
    512 bytes). Such an image is never handed to it: bytes that happened to parse as a tar too
    would be unpacked as files the judge never checked. podman (containers/storage) and Docker ≥ 23
    unpack zstd, zstd:chunked included.
    """
    zstd = [n for n, d in enumerate(image.manifest.layers, start=1) if d.media_type in media.LAYERS_ZSTD]
    if not zstd:
        return None
    kind, _, rest = engine.describe().partition(" ")
    version = rest.split(" at ", 1)[0]
    major = version.split(".", 1)[0]
    if kind != "docker" or not major.isdigit() or int(major) >= ZSTD_DOCKER_MAJOR:
        return None
    which = f"layer {zstd[0]} is" if len(zstd) == 1 else f"layers {', '.join(map(str, zstd))} are"
    return (
        f"{kind} {version} cannot unpack zstd layers (Docker ≥ {ZSTD_DOCKER_MAJOR} can; podman can): "
        f"{which} {media.OCI_LAYER_ZSTD}, which it would read as a plain tar, so the image was not loaded"
    )


def classify(run: SandboxRun, options: JudgeOptions) -> RunRecord:
    """One run's verdict and the sentence explaining it."""
    result = run.result
    verdict, reason = _verdict(run, options, options.exit)
    free, _ = _verdict(run, options, ExitRule.ANY)
    return RunRecord(
        result.exit_code,
        result.stdout,
        result.stderr,
        result.wall_ms,
        result.stdout_truncated,
        verdict,
        reason,
        free,
    )


def _verdict(run: SandboxRun, options: JudgeOptions, exit_rule: ExitRule) -> tuple[Verdict, str]:
    result, spec = run.result, options.spec
    if result.status_unknown:
        return Verdict.INTERNAL_ERROR, "the engine lost the container's exit status twice; judge it again"
    if result.output_limited:
        stream, cap = ("stdout", spec.stdout_cap) if result.stdout_truncated else ("stderr", spec.stderr_cap)
        return (
            Verdict.OUTPUT_LIMIT,
            f"it wrote more than {_size(cap)} to {stream}; it was stopped there and killed",
        )
    printed = check_output(result.stdout, options.phrase, options.match).matched
    if result.timed_out:
        after = "; it had printed the phrase, but a program must also exit" if printed else ""
        return (
            Verdict.TIMEOUT,
            f"it was still running at the {spec.timeout_s:g} s wall-time limit and was killed{after}",
        )
    if result.oom_killed or result.exit_code == SIGKILL_STATUS:
        how = (
            "by the out-of-memory killer"
            if result.oom_killed
            else "by SIGKILL, which only the out-of-memory killer sends here"
        )
        return Verdict.MEMORY_LIMIT, f"it was killed {how}: the memory limit is {_size(spec.memory_bytes)}"
    if run.never_started:
        return Verdict.START_FAILED, run.never_started
    code = result.exit_code
    if code != 0 and exit_rule is ExitRule.ZERO:
        after = " after printing the phrase: a program must exit 0" if printed else ""
        return Verdict.RUNTIME_ERROR, f"it exited with status {code}{after}{_stderr_hint(result)}"
    exited = f"it exited {code}" if code != 0 else "it exited 0"
    if not result.stdout:
        return Verdict.NO_OUTPUT, f"{exited} but wrote nothing to stdout{_stderr_hint(result)}"
    check = check_output(result.stdout, options.phrase, options.match)
    if not check.matched:
        return Verdict.WRONG_OUTPUT, check.reason
    return Verdict.ACCEPTED, f"{exited} and stdout {options.match.describe()}"


def _judgement(
    candidate: Candidate, verdict: Verdict, reason: str, runs: tuple[RunRecord, ...], **facts: Any
) -> Judgement:
    evidence = {"metrics": candidate.metrics, "runs": runs, "notes": candidate.notes, **facts}
    return Judgement.of_image(candidate.source, verdict, reason, candidate.image, **evidence)


def _stderr_hint(result: RunResult) -> str:
    if not result.stderr:
        return ""
    return f" ({len(result.stderr)} bytes on stderr, which is shown but never judged)"


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"
