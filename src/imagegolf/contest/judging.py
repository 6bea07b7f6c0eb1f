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
from imagegolf.digest import Digest
from imagegolf.engine import Engine
from imagegolf.engine.sandbox import RunSpec
from imagegolf.judge import Judgement, JudgeOptions, Verdict, judge_one
from imagegolf.judge.judged import JudgedData, JudgedLayer
from imagegolf.oci import Image, entry_file
from imagegolf.platform import Wanted
from imagegolf.registry import RegistryClient

_log = logging.getLogger(__name__)
EXPLAIN_MAX_BYTES = 16 * 1024  # larger entry files (a distro's /bin/sh) get a summary, not a dump
# Verdicts that say nothing about the image: another attempt may judge it.
TRANSIENT = frozenset({Verdict.PULL_FAILED})


def judge_options(contest: Contest) -> JudgeOptions:
    return JudgeOptions(
        phrase=contest.phrase,
        match=contest.match,
        runs=int(contest.limits["runs"]),
        platforms=contest.platforms,
        spec=RunSpec(timeout_s=float(contest.limits["timeout_s"]), runtime=str(contest.limits["runtime"])),
        jobs=1,
        cross_check=bool(contest.limits["cross_check"]),
    )


def judge_digest(
    contest: Contest,
    digest: Digest,
    *,
    registry: RegistryClient,
    engine: Engine,
    entrant: str | None = None,
) -> JudgedData:
    """The judged event's data for the image ``digest`` in the contest's repository (the entrant's
    own with per-entrant repositories)."""
    ref = contest.reference(digest, entrant)
    pulled: list[Image] = []

    def fetch(_source: str, wanted: Wanted) -> Image:
        image = registry.pull_image(ref, wanted)
        pulled.append(image)
        return image

    judgement = judge_one(str(ref), fetch=fetch, engine=engine, options=judge_options(contest))
    return event_data(judgement, pulled[-1] if pulled else None, contest)


def event_data(judgement: Judgement, image: Image | None, contest: Contest) -> JudgedData:
    data = judgement.to_json()
    data.pop("source")
    data["manifest_digest"] = data.pop("digest") or None
    judged = JudgedData.from_json(data)
    if image is None:
        return judged
    return judged.with_(
        config_digest=image.manifest.config.digest,
        layers=tuple(
            JudgedLayer(d.digest, d.size, d.media_type, str(diff_id))
            for d, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=False)
        ),
        entry=_entry(image, contest),
    )


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


def internal_error(reason: str) -> JudgedData:
    return JudgedData(Verdict.INTERNAL_ERROR, reason)
