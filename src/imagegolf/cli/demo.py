"""``imagegolf demo``: the README's main job — the whole contest on this machine.

Starts a private registry on 127.0.0.1, creates a contest for the phrase, and replays the post's
ladder: one rung after another is built with its real toolchain and pushed by an entrant to the
shared repository, where the contest (push notifications and polling, judge workers) judges it
live. Then the leaderboard and the record timeline, and the web page until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagegolf import ladder
from imagegolf.cli.board import print_board
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.cli.options import DEFAULT_MESSAGE
from imagegolf.contest import (
    Contest,
    SubmissionNotFound,
    SubmissionState,
    boards,
    create_contest,
    submission_detail,
)
from imagegolf.contest.reads import find_all
from imagegolf.contest.service import Database, Judging, WatchOptions, opened_database
from imagegolf.errors import CheckFailed, UsageError
from imagegolf.images.access import RegistryAccess, open_client
from imagegolf.images.local import LocalRegistry
from imagegolf.judge.engines import Engine, connect
from imagegolf.web import create_app
from imagegolf.web.server import serve_in_thread

if TYPE_CHECKING:
    from imagegolf.images.access import RegistryClient


@dataclass(frozen=True)
class Push:
    entrant: str  # also the tag: the contest's default rule
    rung: str


# The post's timeline, replayed: entrants walk down the ladder, some re-push their tag.
SCRIPT: tuple[Push, ...] = (
    Push("reschenburg", "distro-echo"),
    Push("pjones", "busybox-echo"),
    Push("alice", "host-echo"),  # dynamically linked in scratch: START_FAILED
    Push("alice", "go"),  # the same tag re-pushed with a new digest: a new submission
    Push("bob", "go-stripped"),
    Push("alice", "go-upx"),
    Push("carol", "c-glibc-static"),
    Push("carol", "c-glibc-upx"),
    Push("bob", "c-musl-static"),
    Push("pjones", "asm-elf64"),
    Push("reschenburg", "asm-elf32-ld"),
    Push("dave", "teensy"),
    Push("carol", "teensy-modern"),  # the same bytes as dave's: REJECTED as a duplicate
    Push("pjones", "teensy-argv"),
)
JUDGE_WAIT_S = 180.0


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="the whole contest here: a local registry, the ladder pushed by entrants, judged live, the page",
        description="Start a registry on 127.0.0.1, create a contest for PHRASE, push the ladder's images as "
        "entrants one after another, judge each live, print the leaderboard and the record timeline, and "
        "serve the web page until Ctrl-C.",
    )
    parser.add_argument("--phrase", default=DEFAULT_MESSAGE, help=f"default: {DEFAULT_MESSAGE!r}")
    parser.add_argument(
        "--rungs", metavar="NAMES", help="comma-separated rungs to push (default: all, in order)"
    )
    parser.add_argument(
        "--dir", default="build/demo", help="where the database and registry live (build/demo)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="web page address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="web page port (8000)")
    parser.add_argument(
        "--no-serve", action="store_true", help="no web page: exit after the board (for scripts)"
    )
    parser.add_argument("--workers", type=int, default=2, help="judge workers (2)")
    parser.set_defaults(handler=run)


def _script(rungs: str | None) -> list[Push]:
    if not rungs:
        return list(SCRIPT)
    wanted = [name.strip() for name in rungs.split(",") if name.strip()]
    known = {push.rung for push in SCRIPT}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise UsageError(
            f"--rungs: unknown {', '.join(unknown)}", hint=f"known: {', '.join(p.rung for p in SCRIPT)}"
        )
    return [push for push in SCRIPT if push.rung in wanted]


def run(args: argparse.Namespace, ctx: Context) -> int:
    script = _script(args.rungs)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=ctx.stderr, level=logging.ERROR, format="imagegolf: %(message)s")
    workdir = Path(args.dir)
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "contest.db"
    for stale in workdir.glob("contest.db*"):  # a fresh contest each run
        stale.unlink()
    hook_token = secrets.token_urlsafe(16)
    serve = not args.no_serve
    web_url = f"http://{args.host}:{args.port}"
    ctx.out(f"imagegolf demo: a contest for {args.phrase!r}, the ladder's images pushed by entrants")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(opened_database(str(db_path)))
        registry = stack.enter_context(
            LocalRegistry(
                workdir / "registry",
                notify_url=f"{web_url}/hooks/registry" if serve else None,
                notify_token=hook_token if serve else None,
            )
        )
        stack.callback(_wipe, workdir / "registry")
        contest = create_contest(
            db,
            name="idbs",
            phrase=args.phrase,
            repository=f"{registry.host}/idbs",
            limits={"per_entrant_per_hour": 0},
        )
        ctx.out(f"registry  {registry.host} (docker-registry; the shared repository is {contest.watched})")
        ctx.out(f"database  {db_path} (SQLite)")
        admin_token = None
        client = stack.enter_context(open_client(RegistryAccess(environ=ctx.environ), registry.host))
        if serve:
            admin_token = secrets.token_urlsafe(16)
            _serve(stack, db, contest, args, admin_token, hook_token, client)
            ctx.out(f"web       {web_url}  (live leaderboard; admin token {admin_token})")
        engine = stack.enter_context(connect(ctx.environ))
        ctx.out(f"engine    {engine.describe()}")
        stop = threading.Event()
        stack.callback(stop.set)
        _start_contest(stack, db, contest, engine, client, stop, args.workers)
        ctx.out("")
        states = _replay(script, db, contest, client, ctx)
        for board in boards(db, contest):  # classic, open, pull: one judgement, three rankings
            ctx.out("")
            print_board(db, contest, ctx, board.name)
        if serve:
            ctx.out(f"\nthe contest page is at {web_url}; Ctrl-C stops the demo")
            ctx.stdout.flush()
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                ctx.out("stopped")
    failed = [s for s in states if s.pending]
    if failed:
        raise CheckFailed(f"{len(failed)} submission(s) were not judged within {JUDGE_WAIT_S:.0f} s")
    return 0


def _wipe(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _serve(
    stack: contextlib.ExitStack,
    db: Database,
    contest: Contest,
    args: argparse.Namespace,
    admin_token: str,
    hook_token: str,
    registry: RegistryClient,
) -> None:
    app = create_app(db, contest.name, admin_token=admin_token, hook_token=hook_token, registry=registry)
    server = serve_in_thread(app, args.host, args.port)
    stack.callback(server.stop)


def _start_contest(
    stack: contextlib.ExitStack,
    db: Database,
    contest: Contest,
    engine: Engine,
    client: RegistryClient,
    stop: threading.Event,
    workers: int,
) -> None:
    """The contest's judging (polling every second, judge workers) in a thread until ``stop``."""
    judging = Judging(db, contest, engine, client)
    thread = threading.Thread(
        target=judging.run,
        args=(WatchOptions(interval_s=1.0, workers=workers), stop),
        name="judging",
        daemon=True,
    )
    thread.start()

    def join() -> None:
        stop.set()
        thread.join(timeout=60)

    stack.callback(join)


def _replay(
    script: list[Push], db: Database, contest: Contest, client: RegistryClient, ctx: Context
) -> list[SubmissionState]:
    message = contest.phrase.encode() + b"\n"
    states: list[SubmissionState] = []
    for number, push in enumerate(script, start=1):
        head = f"[{number:>2}/{len(script)}] {push.entrant:<12} {push.rung:<15}"
        started = time.monotonic()
        try:
            built = ladder.build_rung(push.rung, message, environ=ctx.environ)
        except (ladder.ToolMissing, ladder.BuildFailed) as error:
            ctx.out(f"{head} skipped: {error}")
            continue
        result = client.push_image(contest.repository, built.image, push.entrant)
        pushed = time.monotonic()
        ctx.out(f"{head} built in {pushed - started:4.1f} s, pushed {contest.watched}:{push.entrant}")
        ctx.stdout.flush()
        state = _judged(db, contest, push.entrant, str(result.digest))
        states.append(state)
        took = time.monotonic() - pushed
        size = "" if state.size is None else f"{human_size(state.size)} ({state.size} B)"
        ctx.out(f"{'':<33}{state.label} {size}, judged {took:.1f} s after the push: {state.reason}")
        ctx.out(f"{'':<33}{_on_boards(db, contest, state)}")
        ctx.stdout.flush()
    return states


def _on_boards(db: Database, contest: Contest, state: SubmissionState) -> str:
    """The submission's status on every board, in one line: ``classic ACCEPTED 71B, open …``."""
    shown = []
    for placing in submission_detail(db, contest, state.submission.id).boards:
        on = placing.state
        size = f" {human_size(on.size)}" if on.ranked and on.size is not None else ""
        shown.append(f"{placing.board.name} {on.label}{size}")
    return "boards: " + ", ".join(shown)


def _judged(db: Database, contest: Contest, tag: str, digest: str) -> SubmissionState:
    """Wait until the submission of (tag, digest) has a verdict (a hook or the poller queued it)."""
    deadline = time.monotonic() + JUDGE_WAIT_S
    while True:
        try:
            states = [s for s in find_all(db, contest, digest) if s.submission.tag == tag]
        except SubmissionNotFound:
            states = []
        if states and (not states[0].pending or time.monotonic() > deadline):
            return states[0]
        if not states and time.monotonic() > deadline:
            raise CheckFailed(f"the push of {tag} ({digest[:19]}) never reached the contest")
        time.sleep(0.1)
