"""The judged event's payload as a value (what a ``judged``/``rejudged`` event's data holds).

Stored as JSON in the append-only events, so ``from_json`` reads every payload ever written
(missing keys take their defaults; keys it does not know are kept in ``extra`` and written back).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from imagegolf.digest import Digest
from imagegolf.judge.verdict import Verdict


@dataclass(frozen=True)
class JudgedRun:
    exit_code: int | None
    stdout: str
    stderr: str
    wall_ms: int
    stdout_truncated: bool = False

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JudgedRun:
        return cls(
            value.get("exit_code"),
            str(value.get("stdout", "")),
            str(value.get("stderr", "")),
            int(value.get("wall_ms") or 0),
            bool(value.get("stdout_truncated", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "wall_ms": self.wall_ms,
            "stdout_truncated": self.stdout_truncated,
        }


@dataclass(frozen=True)
class JudgedLayer:
    digest: Digest
    size: int
    media_type: str
    diff_id: str

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JudgedLayer:
        return cls(Digest.parse(str(value["digest"])), int(value.get("size") or 0),
                   str(value.get("media_type", "")), str(value.get("diff_id", "")))  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"digest": str(self.digest), "size": self.size, "media_type": self.media_type,
                "diff_id": self.diff_id}  # fmt: skip


@dataclass(frozen=True)
class JudgedData:
    """One judgement of a submission's digest, as the contest records it."""

    verdict: Verdict
    reason: str
    manifest_digest: Digest | None = None
    platform: str | None = None
    metrics: dict[str, int] | None = None
    runs: tuple[JudgedRun, ...] = ()
    notes: tuple[str, ...] = ()
    index_digest: Digest | None = None
    chosen: str | None = None
    config_digest: Digest | None = None
    layers: tuple[JudgedLayer, ...] = ()
    entry: dict[str, Any] | None = None  # the file the image runs: path, size, explain view
    job: int | None = None  # which job, attempt and worker recorded it
    attempt: int | None = None
    worker: str | None = None
    judge_ms: int | None = None
    reused_from: int | None = None  # the submission whose judgement of the same digest this is
    previous: str | None = None  # a re-judge: the verdict it replaced
    # The judge's facts for board rules (judge/verdict.py): the verdict had the exit status been
    # free, and which metadata document holds the phrase. None: judged before they were recorded.
    any_exit: Verdict | None = None
    phrase_in: str | None = None
    # The OCI runtime it was judged under (judge/verdict.py): runc, or runsc (gVisor). Judgements
    # recorded before the contest had the setting ran under runc.
    runtime: str = "runc"
    extra: dict[str, Any] = field(default_factory=dict)  # keys written by others, kept as they came

    def metric(self, name: str) -> int | None:
        return None if self.metrics is None or name not in self.metrics else int(self.metrics[name])

    def fingerprints(self, submitted: Digest) -> tuple[Digest, ...]:
        """The manifest and layer digests a copy of this image would share."""
        return (self.manifest_digest or submitted, *(layer.digest for layer in self.layers))

    def with_(self, **changes: Any) -> JudgedData:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return JudgedData(**values)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JudgedData:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            verdict=Verdict(str(value["verdict"])),
            reason=str(value.get("reason", "")),
            manifest_digest=_digest(value.get("manifest_digest")),
            platform=value.get("platform"),
            metrics={str(k): int(v) for k, v in value["metrics"].items()} if value.get("metrics") else None,
            runs=tuple(JudgedRun.from_json(run) for run in value.get("runs") or []),
            notes=tuple(str(note) for note in value.get("notes") or []),
            index_digest=_digest(value.get("index_digest")),
            chosen=value.get("chosen"),
            config_digest=_digest(value.get("config_digest")),
            layers=tuple(JudgedLayer.from_json(layer) for layer in value.get("layers") or []),
            entry=value.get("entry"),
            job=value.get("job"),
            attempt=value.get("attempt"),
            worker=value.get("worker"),
            judge_ms=value.get("judge_ms"),
            reused_from=value.get("reused_from"),
            previous=value.get("previous"),
            any_exit=Verdict(str(value["any_exit"])) if value.get("any_exit") else None,
            phrase_in=str(value["phrase_in"]) if value.get("phrase_in") else None,
            runtime=str(value.get("runtime") or "runc"),
            extra={k: v for k, v in value.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.extra,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "manifest_digest": _text(self.manifest_digest),
            "platform": self.platform,
            "metrics": self.metrics,
            "runs": [run.to_json() for run in self.runs],
            "notes": list(self.notes),
            "index_digest": _text(self.index_digest),
            "chosen": self.chosen,
            "config_digest": _text(self.config_digest),
            "layers": [layer.to_json() for layer in self.layers],
            "entry": self.entry,
            "runtime": self.runtime,
        }
        for optional in ("job", "attempt", "worker", "judge_ms", "reused_from", "previous", "phrase_in"):
            if getattr(self, optional) is not None:
                out[optional] = getattr(self, optional)
        if self.any_exit is not None:
            out["any_exit"] = self.any_exit.value
        return out


def _digest(value: Any) -> Digest | None:
    return Digest.parse(str(value)) if value else None


def _text(digest: Digest | None) -> str | None:
    return str(digest) if digest is not None else None
