"""Walk the ladder: build each rung, measure it, check it, and keep going whatever one rung does."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagegolf import oci, store
from imagegolf.errors import UsageError
from imagegolf.ladder.check import LADDER_CAPS, Check
from imagegolf.ladder.rungs import STRATEGIES, build_rung, strategy
from imagegolf.ladder.strategy import RungImage, Strategy
from imagegolf.ladder.tools import BuildFailed, ToolMissing

SKIPPED = "SKIPPED"
BUILD_FAILED = "BUILD_FAILED"
NOT_CHECKED = "BUILT"  # built and measured, no check asked for
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RungResult:
    """One rung's outcome: what was built (if anything), its sizes, the verdict and why."""

    strategy: Strategy
    verdict: str
    reason: str
    built: RungImage | None = None
    metrics: oci.SizeMetrics | None = None
    build_s: float = 0.0
    check_s: float = 0.0
    output: Path | None = None

    @property
    def name(self) -> str:
        return self.strategy.name

    @property
    def as_expected(self) -> bool:
        """The verdict the ladder expects (skipped rungs and unchecked builds do not count against)."""
        return self.verdict in (self.strategy.expected, SKIPPED, NOT_CHECKED)

    def to_json(self) -> dict[str, Any]:
        image = self.built.image if self.built else None
        post = self.strategy.post
        return {
            "rung": self.name,
            "technique": self.built.technique if self.built else self.strategy.technique,
            "platform": str(image.platform) if image else None,
            "digest": str(image.manifest_digest) if image else None,
            "verdict": self.verdict,
            "expected": self.strategy.expected,
            "reason": self.reason,
            "metrics": self.metrics.as_dict() if self.metrics else None,
            "post": {"rung": post.rung, "size": post.size} if post else None,
            "toolchain": self.built.toolchain if self.built else None,
            "log": list(self.built.log) if self.built else [],
            "build_s": round(self.build_s, 3),
            "check_s": round(self.check_s, 3),
            "output": str(self.output) if self.output else None,
        }


def select(only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Strategy]:
    """The rungs to walk, always in ladder order; unknown names are a usage error."""
    for name in (*only, *skip):
        strategy(name)
    chosen = [s for s in STRATEGIES.values() if (not only or s.name in only) and s.name not in skip]
    if not chosen:
        raise UsageError("no rung left to build", hint="the rungs chosen and the rungs left out leave none")
    return chosen


def run_ladder(
    message: bytes,
    rungs: Sequence[Strategy],
    *,
    check: Check | None,
    progress: Progress = lambda _line: None,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
    output_dir: Path | None = None,
) -> list[RungResult]:
    """Build, measure, keep (``output_dir``) and check each rung in order."""
    results = []
    for number, rung in enumerate(rungs, 1):
        tag = f"[{number:>2}/{len(rungs)}] {rung.name}"
        results.append(_walk(rung, message, tag, check, progress, environ, cache_dir, output_dir, number))
    return results


def _walk(
    rung: Strategy,
    message: bytes,
    tag: str,
    check: Check | None,
    progress: Progress,
    environ: Mapping[str, str] | None,
    cache_dir: Path | None,
    output_dir: Path | None,
    number: int,
) -> RungResult:
    progress(f"{tag}: building ({rung.technique})")
    started = time.monotonic()
    try:
        built = build_rung(rung.name, message, environ=environ, cache_dir=cache_dir)
    except ToolMissing as missing:
        progress(f"{tag}: {SKIPPED}: {missing}")
        return RungResult(rung, SKIPPED, f"{missing.message}: install it with `{missing.install}`")
    except (BuildFailed, UsageError) as error:
        verdict = SKIPPED if isinstance(error, UsageError) else BUILD_FAILED
        progress(f"{tag}: {verdict}: {error}")
        return RungResult(rung, verdict, str(error), build_s=time.monotonic() - started)
    metrics = oci.size_metrics(built.image, caps=LADDER_CAPS)
    build_s = time.monotonic() - started
    progress(f"{tag}: built in {build_s:.1f} s, {metrics.docker_classic:,} bytes (docker_classic)")
    output = None
    if output_dir is not None:
        name = f"localhost/imagegolf-ladder:{rung.name}"
        output = store.write_dual_tar(built.image, output_dir / f"{number:02d}-{rung.name}.tar", name)
    if check is None:
        return RungResult(rung, NOT_CHECKED, "not run", built, metrics, build_s, 0.0, output)
    progress(f"{tag}: checking")
    started = time.monotonic()
    verdict, reason = check(built.image)
    check_s = time.monotonic() - started
    progress(f"{tag}: {verdict} in {check_s:.1f} s: {reason}")
    return RungResult(rung, verdict, reason, built, metrics, build_s, check_s, output)
