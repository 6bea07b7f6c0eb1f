"""Judge sources: stage 1 for every source (no engine), then stage 2 for those that passed.

The engine is connected only when some image gets to run. Every source gets a Judgement:
an unexpected failure while judging one image is INTERNAL_ERROR for that image, and the judge
goes on. Only the engine becoming unreachable (EnvironmentProblem) stops the whole judging.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

from imagegolf.digest import Digest
from imagegolf.engine.protocol import Engine
from imagegolf.errors import EnvironmentProblem
from imagegolf.judge.host import Host, current_host
from imagegolf.judge.options import Fetch, JudgeOptions
from imagegolf.judge.runner import run_candidate
from imagegolf.judge.screen import Candidate, screen
from imagegolf.judge.verdict import Judgement, Verdict

EngineFactory = Callable[[], AbstractContextManager[Engine]]
_log = logging.getLogger(__name__)


def judge_sources(
    sources: Sequence[str],
    *,
    fetch: Fetch,
    engine: EngineFactory,
    options: JudgeOptions,
    host: Host | None = None,
) -> list[Judgement]:
    """One Judgement per source, in the order given, each naming the runtime it was judged under."""
    judgements = _judge(sources, fetch=fetch, engine=engine, options=options, host=host)
    return [dataclasses.replace(j, runtime=options.spec.runtime) for j in judgements]


def _judge(
    sources: Sequence[str], *, fetch: Fetch, engine: EngineFactory, options: JudgeOptions, host: Host | None
) -> list[Judgement]:
    checked_host = host or current_host()
    screened: list[Candidate | Judgement] = []
    for source in sources:
        try:
            screened.append(screen(source, fetch, options, checked_host))
        except Exception as error:
            screened.append(_internal_error(source, error))
    screened = _flag_copies(screened)
    if not any(isinstance(item, Candidate) for item in screened):
        return [item for item in screened if isinstance(item, Judgement)]
    with engine() as connected, ThreadPoolExecutor(max_workers=options.jobs) as pool:
        # Images are independent: with jobs > 1 their runs overlap on the engine, each image's own
        # runs stay sequential. map keeps the order given and re-raises EnvironmentProblem.
        return list(
            pool.map(
                lambda item: _run(item, connected, options) if isinstance(item, Candidate) else item, screened
            )
        )


def _run(candidate: Candidate, engine: Engine, options: JudgeOptions) -> Judgement:
    try:
        return run_candidate(candidate, engine, options)
    except EnvironmentProblem:
        raise  # the engine is gone: no later image could be judged either
    except Exception as error:
        return _internal_error(candidate.source, error)


def judge_one(source: str, *, fetch: Fetch, engine: Engine, options: JudgeOptions) -> Judgement:
    """Judge one source on an engine the caller holds."""
    (judgement,) = judge_sources(
        [source], fetch=fetch, engine=lambda: contextlib.nullcontext(engine), options=options
    )
    return judgement


def _flag_copies(screened: list[Candidate | Judgement]) -> list[Candidate | Judgement]:
    """Note an image whose layers (diff_ids: the same files, however compressed) equal an earlier
    source's (docs/judge.md #3). Only a note: who copied whom is the contest's business."""
    first: dict[tuple[Digest, ...], str] = {}
    out: list[Candidate | Judgement] = []
    for item in screened:
        if isinstance(item, Candidate):
            layers = item.image.config.diff_ids
            if layers in first:
                note = f"its layers are identical to those of {first[layers]}, given earlier: a copy?"
                item = dataclasses.replace(item, notes=(*item.notes, note))
            first.setdefault(layers, item.source)
        out.append(item)
    return out


def _internal_error(source: str, error: Exception) -> Judgement:
    _log.error("judging %s failed", source, exc_info=error)
    return Judgement(
        source,
        Verdict.INTERNAL_ERROR,
        f"the judge failed on this image ({type(error).__name__}: {error}); this is a bug in imagegolf, "
        "not a fault of the image",
    )
