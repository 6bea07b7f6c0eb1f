"""Judge one submission with the judge's own code, pulling the digest the contest pinned.

The tag is never read again here: the worker pulls ``registry/repo@digest``, so a tag moved
after the push cannot change what is judged. The result is the ``judged`` event's data: the
judgement's JSON plus what the contest shows and needs (layer digests for the duplicate rule,
the entry file's explain view).
"""

from __future__ import annotations

import logging
from typing import Any

from imagegolf.contest.model import Contest
from imagegolf.engine.client import Engine
from imagegolf.engine.sandbox import RunSpec
from imagegolf.judge import Judgement, JudgeOptions, Verdict, judge_one
from imagegolf.oci import Image, entry_file
from imagegolf.platform import Wanted
from imagegolf.registry import RegistryClient

_log = logging.getLogger(__name__)
EXPLAIN_MAX_BYTES = 16 * 1024  # larger entry files (a distro's /bin/sh) get a summary, not a dump
# Verdicts that say nothing about the image: another attempt may judge it.
TRANSIENT = frozenset({Verdict.PULL_FAILED.value})


def judge_options(contest: Contest) -> JudgeOptions:
    return JudgeOptions(
        phrase=contest.phrase,
        match=contest.match,
        runs=int(contest.limits["runs"]),
        platforms=contest.platforms,
        spec=RunSpec(timeout_s=float(contest.limits["timeout_s"])),
        jobs=1,
        cross_check=bool(contest.limits["cross_check"]),
    )


def judge_digest(
    contest: Contest, digest: str, *, registry: RegistryClient, engine: Engine
) -> dict[str, Any]:
    """The judged event's data for the image ``digest`` in the contest's repository."""
    ref = contest.reference(digest)
    pulled: list[Image] = []

    def fetch(_source: str, wanted: Wanted) -> Image:
        image = registry.pull_image(ref, wanted)
        pulled.append(image)
        return image

    judgement = judge_one(str(ref), fetch=fetch, engine=engine, options=judge_options(contest))
    return event_data(judgement, pulled[-1] if pulled else None, contest)


def event_data(judgement: Judgement, image: Image | None, contest: Contest) -> dict[str, Any]:
    data = judgement.to_json()
    data.pop("source")
    data["manifest_digest"] = data.pop("digest") or None
    data["config_digest"] = None
    data["layers"] = []
    data["entry"] = None
    if image is not None:
        data["config_digest"] = str(image.manifest.config.digest)
        data["layers"] = [
            {"digest": str(d.digest), "size": d.size, "media_type": d.media_type, "diff_id": str(diff_id)}
            for d, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=False)
        ]
        data["entry"] = _entry(image, contest)
    return data


def _entry(image: Image, contest: Contest) -> dict[str, Any] | None:
    try:
        found = entry_file(image)
    except Exception as error:  # the judge already checked the layers; this is only for display
        _log.warning("no entry file view: %s", error)
        return None
    if found is None:
        return None
    path, data = found
    entry: dict[str, Any] = {"path": "/" + path.lstrip("/"), "size": len(data), "explain": None}
    if not data.startswith(b"\x7fELF"):
        entry["explain"] = f"not an ELF file ({len(data)} bytes)"
    elif len(data) > EXPLAIN_MAX_BYTES:
        entry["explain"] = (
            f"an ELF file of {len(data)} bytes: the byte-by-byte view is kept for files ≤ {EXPLAIN_MAX_BYTES}"
        )
    else:
        from imagegolf.elf.annotate import annotate  # capstone: loaded only when needed

        try:
            entry["explain"] = annotate(data, message=contest.phrase.encode())
        except Exception as error:  # a hostile ELF must not fail the judgement
            entry["explain"] = f"cannot annotate this ELF: {error}"
    return entry


def internal_error(reason: str) -> dict[str, Any]:
    return {
        "verdict": Verdict.INTERNAL_ERROR.value,
        "reason": reason,
        "manifest_digest": None,
        "platform": None,
        "metrics": None,
        "runs": [],
        "notes": [],
        "config_digest": None,
        "layers": [],
        "entry": None,
    }
