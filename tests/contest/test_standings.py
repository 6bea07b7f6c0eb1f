"""The rules of the board, derived from events alone: order, ties, duplicates, disqualification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from imagegolf.contest.standings import Status, derive
from imagegolf.db.records import EventKind, EventRow, SubmissionRow
from imagegolf.digest import Digest
from imagegolf.judge.boards import Board
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.judge.verdict import Verdict

METRIC = "docker_classic"
DISQUALIFIED, QUEUED, RETRYING = Status.DISQUALIFIED, Status.QUEUED, Status.RETRYING
START = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


class Log:
    def __init__(self) -> None:
        self.submissions: list[SubmissionRow] = []
        self.events: list[EventRow] = []

    def push(self, entrant: str, digest: str, second: int, tag: str | None = None) -> int:
        sid = len(self.submissions) + 1
        at = START + dt.timedelta(seconds=second)
        self.submissions.append(
            SubmissionRow(sid, 1, entrant, tag or entrant, Digest.parse(digest), at, "poll")
        )
        return sid

    def event(self, sid: int, kind: str, data: dict[str, Any]) -> None:
        digest = self.submissions[sid - 1].digest
        at = START + dt.timedelta(minutes=len(self.events))
        self.events.append(EventRow(len(self.events) + 1, 1, at, EventKind(kind), sid, digest, "test", data))

    def judged(
        self, sid: int, verdict: str, size: int | None = None, layers: tuple[str, ...] = (), **facts: Any
    ) -> None:
        metrics = (
            None
            if size is None
            else dict.fromkeys(
                ("docker_classic", "containerd_content", "podman", "registry_compressed", "pull_bytes"), size
            )
        )
        self.event(
            sid,
            "judged",
            {
                "verdict": verdict,
                "reason": verdict.lower(),
                "metrics": metrics,
                "manifest_digest": self.submissions[sid - 1].digest,
                "layers": [{"digest": layer, "size": 1} for layer in layers],
                **facts,
            },
        )

    def derive(self, running: frozenset[int] = frozenset(), board: Board | str = METRIC) -> Any:
        return derive(self.submissions, self.events, board, running)


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def L(name: str) -> str:
    return "sha256:" + name.encode().hex().rjust(64, "0")


def test_best_accepted_per_entrant_smallest_first() -> None:
    log = Log()
    a1 = log.push("alice", d(1), 1)
    b1 = log.push("bob", d(2), 2)
    a2 = log.push("alice", d(3), 3)
    w = log.push("carol", d(4), 4)
    log.judged(a1, "ACCEPTED", 500, (L("l1"),))
    log.judged(b1, "ACCEPTED", 300, (L("l2"),))
    log.judged(a2, "ACCEPTED", 200, (L("l3"),))
    log.judged(w, "WRONG_OUTPUT", 10, (L("l4"),))
    s = log.derive()
    assert [(r.place, r.entrant, r.size, r.best.submission.id) for r in s.board] == [
        (1, "alice", 200, a2),
        (2, "bob", 300, b1),
    ]
    assert s.board[0].submissions == 2 and s.board[0].accepted == 2
    assert s.unranked == ("carol",)
    assert [(p.entrant, p.size, p.previous) for p in s.records] == [
        ("alice", 500, None),
        ("bob", 300, 500),
        ("alice", 200, 300),
    ]


def test_a_tie_goes_to_whoever_reached_the_size_first() -> None:
    log = Log()
    late = log.push("zed", d(1), 9)
    early = log.push("amy", d(2), 5)
    log.judged(late, "ACCEPTED", 71, (L("a"),))  # judged first, but pushed later
    log.judged(early, "ACCEPTED", 71, (L("b"),))
    s = log.derive()
    assert [r.entrant for r in s.board] == ["amy", "zed"]
    assert [p.entrant for p in s.records] == ["amy"]  # an equal size is not a new record


def test_within_one_entrant_the_first_of_equal_sizes_is_the_best() -> None:
    log = Log()
    first = log.push("amy", d(1), 1)
    second = log.push("amy", d(2), 2, tag="amy-v2")
    log.judged(first, "ACCEPTED", 71, (L("a"),))
    log.judged(second, "ACCEPTED", 71, (L("b"),))
    assert log.derive().board[0].best.submission.id == first


def test_a_copy_of_another_entrants_accepted_image_is_rejected_naming_the_original() -> None:
    log = Log()
    original = log.push("dave", d(1), 1)
    same_manifest = log.push("carol", d(1), 2)
    same_layer = log.push("erin", d(3), 3)
    own_retag = log.push("dave", d(1), 4, tag="dave-again")
    log.judged(original, "ACCEPTED", 71, (L("layer"),))
    log.judged(same_manifest, "ACCEPTED", 71, (L("layer"),))
    log.judged(same_layer, "ACCEPTED", 71, (L("layer"),))
    log.judged(own_retag, "ACCEPTED", 71, (L("layer"),))
    s = log.derive()
    carol, erin, dave2 = s.state(same_manifest), s.state(same_layer), s.state(own_retag)
    assert carol is not None and erin is not None and dave2 is not None
    assert carol.status == "REJECTED_IMAGE" and carol.duplicate_of == original
    assert "manifest equals dave's" in carol.reason
    assert erin.status == "REJECTED_IMAGE" and "layer" in erin.reason and erin.duplicate_of == original
    assert dave2.status == "ACCEPTED"  # re-tagging your own image is not copying
    assert [r.entrant for r in s.board] == ["dave"]


def test_a_copy_of_a_rejected_image_is_not_a_duplicate() -> None:
    log = Log()
    wrong = log.push("dave", d(1), 1)
    later = log.push("carol", d(2), 2)
    log.judged(wrong, "WRONG_OUTPUT", 71, (L("layer"),))
    log.judged(later, "ACCEPTED", 71, (L("layer"),))
    assert log.derive().state(later).status == "ACCEPTED"  # type: ignore[union-attr]


def test_disqualification_and_rejudge_rewrite_the_board_and_timeline() -> None:
    log = Log()
    a = log.push("amy", d(1), 1)
    b = log.push("bob", d(2), 2)
    log.judged(a, "ACCEPTED", 100, (L("a"),))
    log.judged(b, "ACCEPTED", 50, (L("b"),))
    log.event(b, "disqualified", {"reason": "stdout came from the host"})
    s = log.derive()
    assert s.state(b).status == DISQUALIFIED  # type: ignore[union-attr]
    assert "stdout came from the host" in s.state(b).reason  # type: ignore[union-attr]
    assert [p.entrant for p in s.records] == ["amy"]
    log.event(a, "rejudged", {"verdict": "TIMEOUT", "reason": "slow", "metrics": None, "layers": []})
    s = log.derive()
    assert s.board == () and s.records == ()
    assert s.state(a).status == "TIMEOUT"  # type: ignore[union-attr]


def test_pending_states() -> None:
    log = Log()
    queued = log.push("amy", d(1), 1)
    assert log.derive().state(queued).status is QUEUED  # type: ignore[union-attr]
    judging = log.push("bob", d(2), 2)
    retrying = log.push("cat", d(3), 3)
    log.event(retrying, "pull_failed", {"reason": "registry down", "retry_at": "later"})
    s = log.derive(frozenset({judging}))
    assert [st.status for st in s.states] == [QUEUED, "JUDGING", RETRYING]
    assert s.pending == 3 and s.board == ()
    log.judged(retrying, "ACCEPTED", 9, (L("c"),))
    assert log.derive().state(retrying).status == "ACCEPTED"  # type: ignore[union-attr]


FILES = Board("files", METRIC, MessageRule.FILES, ExitRule.ZERO)
ANY_EXIT = Board("any", METRIC, MessageRule.ANYWHERE, ExitRule.ANY)


def test_each_board_applies_its_rules_to_the_same_judgements() -> None:
    log = Log()
    argv = log.push("bob", d(1), 1)
    exit3 = log.push("cat", d(2), 2)
    files = log.push("amy", d(3), 3)
    log.judged(argv, "ACCEPTED", 50, (L("b"),), any_exit="ACCEPTED", phrase_in="config")
    log.judged(exit3, "RUNTIME_ERROR", 60, (L("c"),), any_exit="ACCEPTED")
    log.judged(files, "ACCEPTED", 71, (L("a"),), any_exit="ACCEPTED")
    plain, strict, loose = log.derive(), log.derive(board=FILES), log.derive(board=ANY_EXIT)
    assert [r.entrant for r in plain.board] == ["bob", "amy"]  # a bare metric: the rules before boards
    assert [r.entrant for r in strict.board] == ["amy"]
    bob = strict.state(argv)
    assert bob is not None and bob.status == "REJECTED_IMAGE" and bob.verdict is Verdict.ACCEPTED
    assert "config holds the phrase" in bob.reason and bob.size == 50  # shown, not ranked
    assert [r.entrant for r in loose.board] == ["bob", "cat", "amy"]
    cat = loose.state(exit3)
    assert cat is not None and cat.verdict is Verdict.RUNTIME_ERROR
    assert "does not count on this board" in cat.reason
    assert [p.entrant for p in loose.records] == ["bob"]


def test_a_copy_is_a_duplicate_only_where_its_original_is_accepted() -> None:
    log = Log()
    original = log.push("bob", d(1), 1)
    copy = log.push("dan", d(2), 2)
    log.judged(original, "ACCEPTED", 50, (L("shared"),), phrase_in="config")
    log.judged(copy, "ACCEPTED", 70, (L("shared"),))
    on_files = log.derive(board=FILES).state(copy)
    on_anywhere = log.derive(board=ANY_EXIT).state(copy)
    assert on_files is not None and on_files.status == "ACCEPTED"  # bob's is not accepted there
    assert on_anywhere is not None and on_anywhere.duplicate_of == original
