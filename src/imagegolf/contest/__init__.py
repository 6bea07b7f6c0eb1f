"""The contest: watch a shared repository, queue each pushed tag's digest, judge, rank (docs/contest.md).

watch (poll tags, or the registry's push notifications) → intake (a submission per new tag and
digest, pinned) → jobs (leased by workers) → judging (the judge's own code) → events (the
truth, append-only) → derived standings (each submission's status, each entrant's best and
place, the record timeline), kept in step with the events in the same transaction and read a
page at a time.
"""

from imagegolf.contest.admin import create_contest, disqualify, queue_rejudge, reinstate
from imagegolf.contest.errors import BoardNotFound, ContestNotFound, SubmissionNotFound
from imagegolf.contest.intake import Intake, record_push
from imagegolf.contest.model import METRICS, Contest
from imagegolf.contest.reads import (
    BoardSummary,
    BoardView,
    EntrantView,
    Page,
    Placing,
    Snapshot,
    SubmissionDetail,
    Totals,
    Version,
    board,
    board_named,
    boards,
    entrant,
    events,
    find,
    open_contest,
    records,
    records_by_board,
    snapshot,
    standings,
    submission_detail,
    submissions,
    summaries,
    version,
)
from imagegolf.contest.standings import BoardRow, RecordPoint, Standings, Status, SubmissionState
from imagegolf.judge.boards import Board, default_boards

__all__ = [
    "METRICS",
    "Board",
    "BoardNotFound",
    "BoardRow",
    "BoardSummary",
    "BoardView",
    "Contest",
    "ContestNotFound",
    "EntrantView",
    "Intake",
    "Page",
    "Placing",
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
    "board_named",
    "boards",
    "create_contest",
    "default_boards",
    "disqualify",
    "entrant",
    "events",
    "find",
    "open_contest",
    "queue_rejudge",
    "record_push",
    "records",
    "records_by_board",
    "reinstate",
    "snapshot",
    "standings",
    "submission_detail",
    "submissions",
    "summaries",
    "version",
]
