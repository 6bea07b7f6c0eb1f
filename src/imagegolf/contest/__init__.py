"""The contest: watch a shared repository, queue each pushed tag's digest, judge, rank (docs/contest.md).

watch (poll tags, or the registry's push notifications) → intake (a submission per new tag and
digest, pinned) → jobs (leased by workers) → judging (the judge's own code) → events → standings
(leaderboard, history, record timeline), derived from the append-only events.
"""

from imagegolf.contest.admin import create_contest, disqualify, queue_rejudge
from imagegolf.contest.errors import ContestNotFound, SubmissionNotFound
from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.model import METRICS, Contest
from imagegolf.contest.reads import (
    Snapshot,
    SubmissionDetail,
    contest_events,
    history,
    open_contest,
    snapshot,
    standings,
    submission_detail,
    version,
)
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, SubmissionState

__all__ = [
    "METRICS",
    "BoardRow",
    "Contest",
    "ContestNotFound",
    "Intake",
    "RecordPoint",
    "Snapshot",
    "Standings",
    "SubmissionDetail",
    "SubmissionNotFound",
    "SubmissionState",
    "contest_events",
    "create_contest",
    "disqualify",
    "history",
    "open_contest",
    "queue_rejudge",
    "record_push",
    "snapshot",
    "standings",
    "submission_detail",
    "version",
]
