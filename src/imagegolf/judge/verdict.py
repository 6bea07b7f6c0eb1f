"""Verdicts and judgements as values, and their JSON shape (docs/judge.md, ``judge --json``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from imagegolf.digest import Digest
from imagegolf.oci.image import Image
from imagegolf.oci.metrics import SizeMetrics
from imagegolf.platform import Platform


class Verdict(enum.Enum):
    ACCEPTED = "ACCEPTED"
    WRONG_OUTPUT = "WRONG_OUTPUT"  # it ran and exited 0, but stdout is not the phrase
    NO_OUTPUT = "NO_OUTPUT"  # it ran and exited 0 with nothing on stdout
    RUNTIME_ERROR = "RUNTIME_ERROR"  # it ran and exited non-zero
    TIMEOUT = "TIMEOUT"  # still running at the wall-time limit
    OUTPUT_LIMIT = "OUTPUT_LIMIT"  # more stdout or stderr than the caps
    MEMORY_LIMIT = "MEMORY_LIMIT"  # killed by the out-of-memory killer
    START_FAILED = "START_FAILED"  # the program never ran (not found, not executable, wrong arch…)
    REJECTED_IMAGE = "REJECTED_IMAGE"  # the image bytes fail a check; nothing was run
    PULL_FAILED = "PULL_FAILED"  # the image could not be fetched
    INTERNAL_ERROR = "INTERNAL_ERROR"  # the judge itself failed: a bug in imagegolf

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RunRecord:
    """One sandboxed run: what it produced and the verdict it earned on its own."""

    exit_code: int | None  # None: killed by the judge (timeout, output cap) or never started
    stdout: bytes
    stderr: bytes
    wall_ms: int
    stdout_truncated: bool
    verdict: Verdict  # under the judge's exit rule
    reason: str
    # The verdict had the exit status been free (ExitRule.ANY): the same but for a non-zero exit
    # whose stdout is right (ACCEPTED). The contest keeps it for boards that allow any exit.
    free_verdict: Verdict | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout.decode("utf-8", "replace"),
            "stderr": self.stderr.decode("utf-8", "replace"),
            "wall_ms": self.wall_ms,
            "stdout_truncated": self.stdout_truncated,
        }


@dataclass(frozen=True)
class Judgement:
    """The judge's answer for one SOURCE: the verdict, a sentence saying why, and the evidence."""

    source: str
    verdict: Verdict
    reason: str
    digest: Digest | None = None  # the manifest digest everything was judged and scored on
    platform: Platform | None = None
    metrics: SizeMetrics | None = None  # from the bytes the judge read itself
    runs: tuple[RunRecord, ...] = ()
    notes: tuple[str, ...] = ()  # what the judge ignored or overrode in the image's config
    index_digest: Digest | None = None  # the index the image was chosen from (what was pushed)
    chosen: str | None = None  # which entry of that index, and why
    # Facts for rules a board may choose (judge/options.py): the verdict had the exit status been
    # free, and which metadata document (config, manifest, index) holds the phrase, if any.
    any_exit: Verdict | None = None
    phrase_in: str | None = None
    runtime: str = "runc"  # the OCI runtime the judge ran (or would have run) it under: runc or runsc

    @classmethod
    def of_image(cls, source: str, verdict: Verdict, reason: str, image: Image, **evidence: Any) -> Judgement:
        """A judgement of an image that was read: its digests, platform and index choice filled in."""
        return cls(
            source,
            verdict,
            reason,
            digest=image.manifest_digest,
            platform=image.platform,
            index_digest=Digest.of(image.index) if image.index is not None else None,
            chosen=image.chosen,
            **evidence,
        )

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    def metric(self, name: str) -> int | None:
        return None if self.metrics is None else int(self.metrics.as_dict()[name])

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "digest": str(self.digest) if self.digest else None,
            "platform": str(self.platform) if self.platform else None,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "metrics": self.metrics.as_dict() if self.metrics else None,
            "runs": [run.to_json() for run in self.runs],
            "notes": list(self.notes),
            "index_digest": str(self.index_digest) if self.index_digest else None,
            "chosen": self.chosen,
            "any_exit": self.any_exit.value if self.any_exit else None,
            "phrase_in": self.phrase_in,
            "runtime": self.runtime,
        }


def rank(judgements: list[Judgement], metric: str) -> list[Judgement]:
    """Accepted images first, smallest ``metric`` first; ties keep the order given (first to reach).

    The rest follow in the order given.
    """
    accepted = [j for j in judgements if j.accepted]
    accepted.sort(key=lambda j: j.metric(metric) or 0)  # sort is stable: ties keep their order
    return accepted + [j for j in judgements if not j.accepted]
