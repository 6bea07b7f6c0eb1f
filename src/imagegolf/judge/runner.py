"""Stage 2: load the judge's own tar of the checked bytes, run it N times, give each run a verdict."""

from __future__ import annotations

import re

from imagegolf.engine.client import Engine, ImageRefused, RunResult, judge_image_name
from imagegolf.judge.matching import check_output
from imagegolf.judge.options import JudgeOptions
from imagegolf.judge.screen import Candidate
from imagegolf.judge.verdict import Judgement, RunRecord, Verdict
from imagegolf.store.write import dual_tar_bytes

# What `docker run` returns when the runtime fails (125), the command is not executable (126)
# or not found (127): no evidence that the program ever ran (attacks.md §20).
START_FAILURE_CODES = frozenset({125, 126, 127})
SIGKILL_STATUS = 128 + 9
# runc's own message when execve fails after the container was set up (exit status 1).
_RUNC_EXEC_ERROR = re.compile(
    rb"\Aexec [^\n]*: (no such file or directory|exec format error|permission denied)\n?\Z"
)
_ERROR_CHARS = 300


def run_candidate(candidate: Candidate, engine: Engine, options: JudgeOptions) -> Judgement:
    """Load, run up to ``options.runs`` times (stopping at the first failure), unload."""
    if not candidate.launch.argv:
        return _judgement(candidate, Verdict.START_FAILED, candidate.launch.problem or "no command", ())
    name = judge_image_name(candidate.digest.short)
    try:
        engine.load(dual_tar_bytes(candidate.image, name))
    except ImageRefused as error:
        return _judgement(candidate, Verdict.REJECTED_IMAGE, str(error), ())
    spec = options.spec.masking(candidate.volumes)
    records: list[RunRecord] = []
    try:
        for number in range(1, options.runs + 1):
            result = engine.run(name, spec)
            if result.status_unknown:  # the engine lost the exit status: that run proves nothing
                result = engine.run(name, spec)
            records.append(classify(result, candidate, options, number))
            if records[-1].verdict is not Verdict.ACCEPTED:
                break
    finally:
        engine.remove_image(name, force=False)  # only our tag: the image may have others
    failed = next((r for r in records if r.verdict is not Verdict.ACCEPTED), None)
    if failed is None:
        runs = "the run" if options.runs == 1 else f"all {options.runs} runs"
        reason = f"{runs} exited 0 with stdout that {options.match.describe()}"
        return _judgement(candidate, Verdict.ACCEPTED, reason, tuple(records))
    prefix = "" if options.runs == 1 else f"run {len(records)} of {options.runs}: "
    return _judgement(candidate, failed.verdict, prefix + failed.reason, tuple(records))


def classify(result: RunResult, candidate: Candidate, options: JudgeOptions, number: int) -> RunRecord:
    """One run's verdict and the sentence explaining it."""
    verdict, reason = _verdict(result, candidate, options)
    return RunRecord(
        result.exit_code,
        result.stdout,
        result.stderr,
        result.wall_ms,
        result.stdout_truncated,
        verdict,
        reason,
    )


def _verdict(result: RunResult, candidate: Candidate, options: JudgeOptions) -> tuple[Verdict, str]:
    spec, problem = options.spec, candidate.launch.problem
    if result.status_unknown:
        return Verdict.INTERNAL_ERROR, "the engine lost the container's exit status twice; judge it again"
    if not result.started:
        return (
            Verdict.START_FAILED,
            problem or f"the engine could not start the container: {_clip(result.error)}",
        )
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
    code = result.exit_code
    if code in START_FAILURE_CODES:
        return (
            Verdict.START_FAILED,
            problem or f"exit status {code}: the runtime could not execute the command",
        )
    if code != 0 and not result.stdout and (problem or _RUNC_EXEC_ERROR.match(result.stderr)):
        return (
            Verdict.START_FAILED,
            problem or f"the runtime could not execute the command: {_clip(result.stderr)}",
        )
    if code != 0:
        after = " after printing the phrase: a program must exit 0" if printed else ""
        return Verdict.RUNTIME_ERROR, f"it exited with status {code}{after}{_stderr_hint(result)}"
    if not result.stdout:
        return Verdict.NO_OUTPUT, f"it exited 0 but wrote nothing to stdout{_stderr_hint(result)}"
    check = check_output(result.stdout, options.phrase, options.match)
    if not check.matched:
        return Verdict.WRONG_OUTPUT, check.reason
    return Verdict.ACCEPTED, f"it exited 0 and stdout {options.match.describe()}"


def _judgement(candidate: Candidate, verdict: Verdict, reason: str, runs: tuple[RunRecord, ...]) -> Judgement:
    return Judgement(
        candidate.source,
        verdict,
        reason,
        digest=candidate.digest,
        platform=candidate.image.platform,
        metrics=candidate.metrics,
        runs=runs,
        notes=candidate.notes,
    )


def _stderr_hint(result: RunResult) -> str:
    if not result.stderr:
        return ""
    return f" ({len(result.stderr)} bytes on stderr, which is shown but never judged)"


def _clip(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "…"


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"
