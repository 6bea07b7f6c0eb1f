"""Retries with exponential backoff: what is transient, how long to wait, when to give up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from imagegolf.registry.errors import RegistryUnreachable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failed request: delay = base · 2^(try-1), capped."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


class Transient(Exception):
    """A failure worth retrying; ``retry_after`` is the server's Retry-After in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def run_with_retries(policy: RetryPolicy, operation: Callable[[], T], *, registry: str, what: str) -> T:
    """Run ``operation``; on :class:`Transient` wait and retry, then give up with RegistryUnreachable."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return operation()
        except Transient as failure:
            if attempt == policy.attempts:
                raise RegistryUnreachable(
                    f"registry {registry} failed to {what}: {failure.reason} (tried {attempt} times)",
                    hint="check that the registry is running and reachable, then try again",
                ) from None
            policy.sleep(policy.delay(attempt, failure.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises
