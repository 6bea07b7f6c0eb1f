"""The judge: does an image print the phrase, safely, and how big is it? (docs/judge.md)

Stage 1 (``screen``) fetches each source once through the ``Fetch`` seam and checks its bytes
in Python, executing nothing; stage 2 (``runner``) loads a tar the judge writes itself from
those bytes and runs it N times under the fixed, hardened ``RunSpec``; the score is the size
metrics of the same bytes. ``judge_sources`` composes both and never raises for one bad image.
"""

from imagegolf.judge.core import EngineFactory, judge_one, judge_sources
from imagegolf.judge.matching import MatchMode, check_output
from imagegolf.judge.options import Fetch, JudgeOptions
from imagegolf.judge.sources import local_fetch
from imagegolf.judge.verdict import Judgement, RunRecord, Verdict, rank

__all__ = [
    "EngineFactory",
    "Fetch",
    "JudgeOptions",
    "Judgement",
    "MatchMode",
    "RunRecord",
    "Verdict",
    "check_output",
    "judge_one",
    "judge_sources",
    "local_fetch",
    "rank",
]
