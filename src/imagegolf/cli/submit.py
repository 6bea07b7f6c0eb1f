"""``imagegolf submit SOURCE --contest URL``: judge an image exactly as the contest will, push it
where the contest says, and wait for the contest's own verdict (docs/cli.md).

1. read the contest's rules (``GET /api/rules``);
2. judge SOURCE here with the options the contest's workers use, and see it on each board;
   accepted on no board: print why and stop, nothing pushed (exit 1);
3. push it (``imagegolf push``'s code) to the contest's repository: ``REPO:TAG`` (with identity
   ``tag`` the tag names you: ``--tag``), or ``REPO/<you>:TAG`` with per-entrant repositories;
4. wait (``--timeout``; not with ``--no-wait``) for the contest to record and judge that digest
   (``GET /api/digests/{digest}``, then ``GET /api/submissions/{id}``), and print its verdict and
   places on each board. A verdict that differs from the one judged here is said loudly: exit 3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from imagegolf.cli import options, rules_client
from imagegolf.cli import push as push_command
from imagegolf.cli.context import Context
from imagegolf.cli.rules_client import ContestError, Rules
from imagegolf.errors import UsageError
from imagegolf.images.access import RegistryAccess, known_username
from imagegolf.images.source import Resolver, check_source
from imagegolf.judge import Judgement, judge_sources
from imagegolf.judge.engines import connect
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from imagegolf.ref import Reference

DEFAULT_WAIT_S = 300.0
PENDING = frozenset({"QUEUED", "JUDGING", "RETRYING"})  # the contest has not decided yet
METRICS = ("docker_classic", "containerd_content", "podman", "registry_compressed", "pull_bytes")
FIRST_DELAY_S, MAX_DELAY_S, BACKOFF = 0.5, 5.0, 1.5
EXIT_ACCEPTED, EXIT_NOT_ACCEPTED, EXIT_DIFFERS = 0, 1, 3


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "submit",
        help="enter a contest in one command: judge an image by its rules, push it, wait for its verdict",
        description="Read the contest's rules, judge SOURCE here exactly as the contest will (its phrase, "
        "match, runs, platforms, wall time, cross-check) and show its verdict on each board; if no "
        "board accepts it, stop without pushing. Else push it where the rules say and wait for the "
        "contest's verdict and places. Exit 0: the contest accepted it on a board; 1: not accepted "
        "(here or there), or no verdict in time; 2: usage, or the contest's address does not answer "
        "as a contest; 3: the contest's verdict differs from this judge's (or no engine, or the "
        "registry is unreachable). docs/cli.md.",
    )
    options.add_source_argument(parser)
    parser.add_argument(
        "--contest",
        required=True,
        metavar="URL",
        help="the contest's address: its page (http://127.0.0.1:8000) or its /api/rules",
    )
    parser.add_argument(
        "--tag",
        metavar="TAG",
        help="the tag to push: your name when the contest knows entrants by their tag (required "
        "then); else any (default submit-<12 hex digits of the digest>)",
    )
    parser.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="exit once pushed, without waiting for the contest's verdict",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="S",
        help=f"wait at most S seconds for the contest's verdict ({DEFAULT_WAIT_S:g})",
    )
    options.add_json_argument(
        parser, "print one JSON object: the rules read, the local judgement, the push, the contest's result"
    )
    options.add_registry_arguments(parser)
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Target:
    """Where the image goes: ``registry/repository:tag``; ``tag`` None: made from the digest."""

    repository: str
    tag: str | None
    username: str | None  # the registry account (per-entrant: the owner of the repository)

    def stored_tag(self, tag: str, rules: Rules) -> str:
        """The tag as the contest records it (per-entrant: ``NAME:TAG``)."""
        return f"{self.username}:{tag}" if rules.per_entrant else tag


def run(args: argparse.Namespace, ctx: Context) -> int:
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    check_source(args.source)
    rules, session = rules_client.fetch_rules(args, args.contest, "--contest")
    target = plan(rules, args, ctx)
    _warn_window(rules, ctx)
    report: dict[str, Any] = {
        "contest": {"name": rules.contest, "rules": rules.url, "site": rules.site},
        "source": args.source,
        "local": None,
        "accepted_locally": False,
        "push": None,
        "server": None,
        "agrees": None,
        "differences": [],
    }

    access = options.registry_access(args, ctx)  # --password-stdin: stdin is read once, here
    ctx.err(f"imagegolf: judging {args.source} by the rules of {rules.describe()}")
    judgement, image = judge_here(args.source, access, ctx, rules)
    rows = rules_client.on_boards(rules, judgement)
    report["local"] = {**judgement.to_json(), "boards": rules_client.boards_json(rows)}
    report["accepted_locally"] = rules_client.accepted_somewhere(rows)
    if not args.json:
        _print_local(ctx, judgement, rows)
    if not report["accepted_locally"] or image is None:
        ctx.err(f"imagegolf: not pushed: {args.source} is accepted on none of the contest's boards")
        return _finish(ctx, args, report, EXIT_NOT_ACCEPTED)

    pushed_digest = judgement.index_digest or judgement.digest
    assert pushed_digest is not None  # an image that was read has a digest
    tag = target.tag or f"submit-{pushed_digest.short}"
    ref = f"{rules.registry}/{target.repository}:{tag}"
    ctx.err(f"imagegolf: pushing to {ref}")
    summary = push_command.push(args, ctx, image, ref, access)
    report["push"] = summary
    if not args.json:
        ctx.out(f"pushed   {summary['reference']}")
        ctx.out(f"digest   {summary['digest']}")
    if not args.wait:
        ctx.err(f"imagegolf: not waiting for the contest's verdict: see {rules.site}")
        return _finish(ctx, args, report, EXIT_ACCEPTED)

    detail, timed_out = wait_for_verdict(
        session,
        rules,
        summary["digest"],
        target.stored_tag(tag, rules),
        target.username if rules.identity == "registry-user" and not rules.per_entrant else None,
        args.timeout,
        ctx.err,
    )
    report["server"] = server_json(rules, detail, timed_out)
    if timed_out:
        where = f"{rules.site}submissions/{detail['id']}" if detail else rules.site
        ctx.err(
            f"imagegolf: no verdict from the contest within {args.timeout:g} s "
            f"({_state_words(detail)}); see {where}"
        )
        if not args.json:
            _print_server(ctx, report["server"])
        return _finish(ctx, args, report, EXIT_NOT_ACCEPTED)
    assert detail is not None
    found = differences(judgement, detail)
    report["differences"] = found
    report["agrees"] = None if detail.get("verdict") is None else not found
    if not args.json:
        _print_server(ctx, report["server"])
    if found:
        _say_differs(ctx, found)
        return _finish(ctx, args, report, EXIT_DIFFERS)
    boards = report["server"]["boards"]
    accepted = any(b.get("status") == "ACCEPTED" for b in boards.values())
    return _finish(ctx, args, report, EXIT_ACCEPTED if accepted else EXIT_NOT_ACCEPTED)


def _finish(ctx: Context, args: argparse.Namespace, report: dict[str, Any], code: int) -> int:
    if args.json:
        ctx.out(json.dumps({**report, "exit": code}, indent=2))
    return code


# Where to push


def plan(rules: Rules, args: argparse.Namespace, ctx: Context) -> Target:
    """The repository and tag the rules ask for, checked before anything is judged or pushed."""
    username = args.username or _registry_user(rules, ctx)
    tag: str | None = args.tag
    if rules.per_entrant:
        if not username:
            raise UsageError(
                f"this contest gives each entrant a repository of their own ({rules.push_to}): "
                "imagegolf needs your account name",
                hint=f"log in first (docker login {rules.registry} -u NAME), or give --username NAME "
                "--password-stdin",
            )
        repository = f"{rules.repository}/{username}"
    else:
        repository = rules.repository
        if rules.identity == "tag":
            if tag is None:
                raise UsageError(
                    f"this contest knows its entrants by their tag ({rules.push_to}): give your name "
                    "with --tag NAME",
                    hint="the tag names you on the board",
                )
            if rules.entrant_for(tag) is None:
                raise UsageError(
                    f"--tag {tag}: the contest would ignore it, it names no entrant "
                    f"(the contest's entrant pattern is {rules.entrant_pattern!r})",
                    hint="give your name as the tag",
                )
    if tag is not None:
        Reference.parse(f"{rules.registry}/{repository}:{tag}")  # the tag's grammar, before judging
    return Target(repository, tag, username)


def _registry_user(rules: Rules, ctx: Context) -> str | None:
    """The account the registry client would log in with (no password is read here)."""
    return known_username(rules.registry, ctx.environ)


def _warn_window(rules: Rules, ctx: Context) -> None:
    now = dt.datetime.now(dt.UTC)
    starts, ends = _moment(rules.window.get("starts_at")), _moment(rules.window.get("ends_at"))
    if starts is not None and now < starts:
        ctx.err(f"imagegolf: warning: the contest starts at {rules.window['starts_at']}: a push before "
                "then is recorded and not judged (OUTSIDE_WINDOW)")  # fmt: skip
    if ends is not None and now > ends:
        ctx.err(f"imagegolf: warning: the contest ended at {rules.window['ends_at']}: a push now is "
                "recorded and not judged (OUTSIDE_WINDOW)")  # fmt: skip


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# Judging here


def judge_here(
    source: str, access: RegistryAccess, ctx: Context, rules: Rules
) -> tuple[Judgement, Image | None]:
    """SOURCE judged with the contest's options, and the image the judge read (None: not read)."""
    fetch_source = Resolver(access)
    read: list[Image] = []

    def fetch(source: str, wanted: Wanted) -> Image:
        image = fetch_source(source, wanted)
        read.append(image)
        return image

    (judgement,) = judge_sources(
        [source], fetch=fetch, engine=lambda: connect(ctx.environ), options=rules.options()
    )
    return judgement, read[-1] if read else None


def _print_local(ctx: Context, judgement: Judgement, rows: list[Any]) -> None:
    digest = str(judgement.digest) if judgement.digest else "-"
    platform = str(judgement.platform) if judgement.platform else "-"
    ctx.out(f"judged   {judgement.verdict.value} here: {judgement.reason}")
    ctx.out(f"         {digest} ({platform})")
    for note in judgement.notes:
        ctx.out(f"note     {note}")
    rules_client.print_boards(ctx, judgement, rows)


# Waiting for the contest


def wait_for_verdict(
    session: requests.Session,
    rules: Rules,
    digest: str,
    stored_tag: str,
    entrant: str | None,
    timeout_s: float,
    say: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any] | None, bool]:
    """(the submission's detail, whether the wait timed out). Asks the contest with back-off
    (0.5 s, ×1.5, at most 5 s apart) until it has recorded the push of ``digest`` under
    ``stored_tag`` (by ``entrant``, when given: the account that pushed, for identity
    registry-user) and judged it; says each new state (``say``: stderr)."""
    deadline = clock() + timeout_s
    delay = FIRST_DELAY_S
    submission: int | None = None
    detail: dict[str, Any] | None = None
    said: str | None = None
    lookup = f"{rules.site}api/digests/{digest}?" + urllib.parse.urlencode({"tag": stored_tag})

    def tell(words: str) -> None:
        nonlocal said
        if words != said:
            say(f"imagegolf: {words}")
            said = words

    tell(f"waiting for the contest to record {stored_tag} ({digest[:19]}…), up to {timeout_s:g} s")
    while True:
        try:
            if submission is None:
                found = rules_client.get_json(session, lookup, "the contest's submissions")["submissions"]
                mine = [s for s in found if entrant is None or s["entrant"] == entrant]
                if mine:
                    submission = int(mine[-1]["id"])
                    tell(
                        f"recorded as submission #{submission} ({mine[-1]['entrant']}, tag {mine[-1]['tag']})"
                    )
            if submission is not None:
                detail = rules_client.get_json(
                    session, f"{rules.site}api/submissions/{submission}", "the contest's submission"
                )
                status = str(detail["status"])
                if status not in PENDING:
                    return detail, False
                reason = f": {detail['reason']}" if status == "RETRYING" and detail.get("reason") else ""
                tell(f"#{submission} {status}{reason}")
        except ContestError as error:
            if not error.transient:
                raise
            tell(f"the contest does not answer ({error.message}); asking again")
        left = deadline - clock()
        if left <= 0:
            return detail, True
        sleep(min(delay, left))
        delay = min(delay * BACKOFF, MAX_DELAY_S)


def _state_words(detail: dict[str, Any] | None) -> str:
    if detail is None:
        return (
            "the contest has not recorded the push: is its watcher running, or its registry's notifications?"
        )
    return f"submission #{detail['id']} is {detail['status']}"


def server_boards(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The submission on each of the contest's boards; a contest with one board: ``board``."""
    boards = detail.get("boards")
    if isinstance(boards, dict) and boards:
        return {str(name): dict(value) for name, value in boards.items()}
    return {
        "board": {
            "status": detail.get("status"),
            "reason": detail.get("reason"),
            "size": detail.get("size"),
            "place": detail.get("place"),
            "metric": detail.get("metric"),
        }
    }


def server_json(rules: Rules, detail: dict[str, Any] | None, timed_out: bool) -> dict[str, Any]:
    if detail is None:
        return {"submission": None, "status": None, "timed_out": timed_out}
    return {
        "submission": detail["id"],
        "url": f"{rules.site}submissions/{detail['id']}",
        "entrant": detail.get("entrant"),
        "tag": detail.get("tag"),
        "digest": detail.get("digest"),
        "status": detail.get("status"),
        "verdict": detail.get("verdict"),
        "reason": detail.get("reason"),
        "duplicate_of": detail.get("duplicate_of"),
        "metrics": {name: detail.get(name) for name in METRICS},
        "boards": server_boards(detail),
        "timed_out": timed_out,
    }


def differences(judgement: Judgement, detail: dict[str, Any]) -> list[str]:
    """Where the contest's judgement of the image differs from this one: the judge's verdict,
    then (same verdict) the five sizes. None when the contest did not judge it (outside the
    window, not an entrant's): its rules, not the judge's."""
    theirs = detail.get("verdict")
    if theirs is None:
        return []
    if theirs != judgement.verdict.value:
        return [
            f"verdict: {judgement.verdict.value} here, {theirs} at the contest ({detail.get('reason') or ''})"
        ]
    found = []
    mine = judgement.metrics.as_dict() if judgement.metrics else {}
    for name in METRICS:
        here, there = mine.get(name), detail.get(name)
        if here is not None and there is not None and int(here) != int(there):
            found.append(f"{name}: {here} bytes here, {there} at the contest")
    return found


def _say_differs(ctx: Context, found: list[str]) -> None:
    ctx.err("imagegolf: !!! THE CONTEST'S VERDICT DIFFERS FROM THIS JUDGE'S !!!")
    for line in found:
        ctx.err(f"imagegolf: !!! {line}")
    ctx.err(
        "imagegolf: the same image judged by the same rules should get the same verdict: the contest's "
        "settings changed since its rules were read, or this is a bug (tell the organiser, with this output)"
    )


def _print_server(ctx: Context, server: dict[str, Any]) -> None:
    if server.get("submission") is None:
        ctx.out("contest  not recorded yet")
        return
    status = server["status"]
    reason = f": {server['reason']}" if server.get("reason") else ""
    ctx.out(f"contest  {status}{reason}")
    who = f"submission #{server['submission']} ({server['entrant']}, tag {server['tag']})"
    ctx.out(f"         {who}: {server['url']}")
    if server.get("timed_out"):
        return
    ctx.out("on the contest's boards:")
    boards = server["boards"]
    width = max(len(name) for name in boards)
    for name, board in boards.items():
        status = board.get("status") or "-"
        size = rules_client.size_text(board.get("size"))
        line = f"  {name:<{width}}  {status:<14}  {size:>16}  {_place(board)}"
        if board.get("reason") and board["reason"] != server.get("reason"):
            line += f"  ({board['reason']})"
        ctx.out(line)


def _place(board: dict[str, Any]) -> str:
    if board.get("place"):
        return f"place {board['place']}"
    return "no place: another entry of yours ranks" if board.get("status") == "ACCEPTED" else "no place"
