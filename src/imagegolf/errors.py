"""One error hierarchy. Every message says what is wrong and what to do next.

The CLI catches :class:`ImagegolfError` in one place and maps ``exit_code`` to the
process exit status (README.md, Exit codes: 1 check failed, 2 usage/bad input, 3 environment).
"""

from __future__ import annotations

import enum


class Setting(enum.Enum):
    """A setting the user can change to get past an error. The core names the setting in words and
    lists it here; each front end says how it is changed there (the CLI: its flag, cli/main.py)."""

    CREDENTIALS = "registry credentials"
    INSECURE = "insecure registry access"
    CA_BUNDLE = "a CA bundle to trust"
    DATABASE = "the database"


class ImagegolfError(Exception):
    """Base of every error imagegolf raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, settings: tuple[Setting, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.settings = settings

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(ImagegolfError):
    """The command line asks for something impossible (bad flag value, empty message)."""

    exit_code = 2


class BadInputError(ImagegolfError):
    """An input file, archive or image is malformed, hostile or unsupported."""

    exit_code = 2


class DigestMismatchError(BadInputError):
    """Bytes do not hash to the digest that names them."""


class LimitExceededError(BadInputError):
    """An input is larger than a configured cap (manifest, config, layer, files)."""


class OutputError(ImagegolfError):
    """An output path cannot be written."""

    exit_code = 2


class EnvironmentProblem(ImagegolfError):
    """Something outside imagegolf is missing or broken (engine, tool, socket)."""

    exit_code = 3


class EngineError(EnvironmentProblem):
    """The container engine refused or failed an operation."""


class CheckFailed(ImagegolfError):
    """The thing checked did not pass (a run printed the wrong thing, exited non-zero)."""

    exit_code = 1
