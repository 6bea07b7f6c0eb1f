"""The contest: watch a shared repository, queue each pushed tag's digest, judge, rank (docs/contest.md).

watch (poll tags, or the registry's push notifications) → intake (a submission per new tag and
digest, pinned) → jobs (leased by workers) → judging (the judge's own code) → events (the
truth, append-only) → derived standings (each submission's status, each entrant's best and
place, the record timeline), kept in step with the events in the same transaction and read a
page at a time.
"""

from imagegolf.contest.admin import create_contest, disqualify, queue_rejudge, reinstate
from imagegolf.contest.errors import ContestNotFound, SubmissionNotFound
from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.model import METRICS, Contest
from imagegolf.contest.reads import (
    BoardView,
    EntrantView,
    Page,
    Snapshot,
    SubmissionDetail,
    Totals,
    Version,
    board,
    entrant,
    events,
    find,
    open_contest,
    records,
    snapshot,
    standings,
    submission_detail,
    submissions,
    version,
)
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, Status, SubmissionState

__all__ = [
    "METRICS",
    "BoardRow",
    "BoardView",
    "Contest",
    "ContestNotFound",
    "EntrantView",
    "Intake",
    "Page",
    "RecordPoint",
    "Snapshot",
    "Standings",
    "Status",
    "SubmissionDetail",
    "SubmissionNotFound",
    "SubmissionState",
    "Totals",
    "Version",
    "board",
    "create_contest",
    "disqualify",
    "entrant",
    "events",
    "find",
    "open_contest",
    "queue_rejudge",
    "record_push",
    "records",
    "reinstate",
    "snapshot",
    "standings",
    "submission_detail",
    "submissions",
    "version",
]
