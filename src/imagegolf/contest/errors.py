"""Contest errors, in the project's one hierarchy."""

from __future__ import annotations

from imagegolf.errors import UsageError


class ContestNotFound(UsageError):
    """No contest of that name in the database (or none at all)."""


class NoContest(ContestNotFound):
    """The database holds no contest yet."""


class SeveralContests(ContestNotFound):
    """No contest was named, and the database holds more than one."""


class SubmissionNotFound(UsageError):
    """No submission with that id or digest in the contest."""


class BoardNotFound(SubmissionNotFound):
    """No board of that name in the contest (a 404 on the web, like a missing submission)."""
