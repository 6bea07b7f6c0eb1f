"""confirm_push: what a notification claims against what the registry holds, including
distribution's order (the event is queued before the tag is written)."""

from __future__ import annotations

import pytest

from imagegolf.contest.intake import TAG_SETTLE_S, NotConfirmed, confirm_push
from imagegolf.digest import Digest
from tests.web.held_registry import HeldRegistry

PUSHED = "sha256:" + "1a" * 32
OLDER = "sha256:" + "2b" * 32


class TagWrittenLate(HeldRegistry):
    """The manifest is there at once; the tag names it only from the ``late``-th ask of it on."""

    def __init__(self, late: int) -> None:
        super().__init__({("contest", "old"): PUSHED, ("contest", "alice"): OLDER})
        self.late, self.tag_asks = late, 0

    def head_manifest_if_changed(self, repository: str, reference: str, known: Digest | None):  # type: ignore[no-untyped-def]
        if reference == "alice":
            self.tag_asks += 1
            if self.tag_asks >= self.late:
                self.hold("contest", "alice", PUSHED)
        return super().head_manifest_if_changed(repository, reference, known)


def test_a_tag_written_after_its_notification_is_confirmed() -> None:
    slept: list[float] = []
    registry = TagWrittenLate(late=3)
    assert confirm_push(registry, "contest", "alice", PUSHED, sleep=slept.append) == PUSHED
    assert slept == list(TAG_SETTLE_S[:2])


def test_a_tag_that_never_comes_to_name_the_digest_is_not_confirmed() -> None:
    slept: list[float] = []
    with pytest.raises(NotConfirmed, match="names sha256:2b2b2b2b2b2b…, not sha256:1a1a"):
        confirm_push(TagWrittenLate(late=99), "contest", "alice", PUSHED, sleep=slept.append)
    assert slept == list(TAG_SETTLE_S)  # about 3 s in all, then given up


def test_a_digest_the_repository_does_not_hold_is_refused_at_once() -> None:
    slept: list[float] = []
    missing = "sha256:" + "3c" * 32
    with pytest.raises(NotConfirmed, match="forged"):
        confirm_push(TagWrittenLate(late=99), "contest", "alice", missing, sleep=slept.append)
    assert slept == []


def test_without_a_digest_the_tag_decides() -> None:
    registry = HeldRegistry({("contest", "alice"): PUSHED})
    assert confirm_push(registry, "contest", "alice", None) == PUSHED
    with pytest.raises(NotConfirmed, match="has no manifest contest:bob"):
        confirm_push(registry, "contest", "bob", None)
