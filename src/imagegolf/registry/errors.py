"""Errors of the registry adapter: each names the registry and says what to do next, never a secret."""

from __future__ import annotations

from imagegolf.errors import BadInputError, EnvironmentProblem, ImagegolfError, Setting, UsageError


class RegistryUnreachable(EnvironmentProblem):
    """The registry cannot be reached, or kept failing (connection errors, timeouts, 429/5xx)."""


class RegistryProtocolError(EnvironmentProblem):
    """The registry answered something the distribution protocol does not allow."""


class AuthenticationFailed(ImagegolfError):
    """The registry (or its token service) refused the credentials, or none were found.

    The message names the registry and the credential source (``--username``/``--password-stdin``,
    the environment, an auth.json or config.json entry, a credential helper), never the secret
    itself; the hint gives command lines that work as printed (``podman login …``).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        registry: str,
        source: str,
        hint: str | None = None,
        settings: tuple[Setting, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint, settings=settings)
        self.registry = registry
        self.source = source


class RegistryRefused(BadInputError):
    """A 4xx answer: the registry's error code (``MANIFEST_UNKNOWN``, ``DENIED`` …) and message."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class NotFound(RegistryRefused):
    """A 404: the repository, manifest, tag or blob does not exist."""


class NotAnIndex(UsageError):
    """The whole index was asked for, but the reference names one image (a manifest)."""
