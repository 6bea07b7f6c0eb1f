"""Database errors, in the project's one hierarchy."""

from __future__ import annotations

from imagegolf.errors import EnvironmentProblem, UsageError


class DatabaseError(UsageError):
    """The database URL or its contents are not what imagegolf expects."""


class DatabaseUnavailable(EnvironmentProblem):
    """The database server cannot be reached (after retrying)."""
