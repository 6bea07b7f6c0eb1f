"""``imagegolf contest watch | worker | rejudge``: judging a contest, through the contest service
(imagegolf.contest.service): this module turns flags into its options and prints what it reports."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from imagegolf.cli.board import print_board
from imagegolf.cli.contest_args import Sub, contest_at, log_to_stderr, printer, tokens
from imagegolf.cli.contest_notify import sent_line
from imagegolf.cli.context import Context
from imagegolf.cli.options import add_registry_arguments, registry_access
from imagegolf.contest.intake import Intake
from imagegolf.contest.service import (
    Judging,
    Listeners,
    WatchOptions,
    WebOptions,
    WorkOptions,
    hosted,
    judging,
    parse_address,
    rejudge,
    stoppable,
    work,
)
from imagegolf.contest.watch import MAX_POLL_WORKERS
from imagegolf.contest.worker import Outcome
from imagegolf.errors import UsageError

MAX_WORKERS = 16


def register(commands: object, sub: Sub) -> None:
    """Add ``watch`` and ``worker`` to ``contest``'s ``commands``."""
    watch = sub(commands, "watch", "poll the repository's tags, queue new digests, judge them with N workers")
    watch.add_argument("--interval", type=float, default=5.0, metavar="S", help="seconds between polls (5)")
    watch.add_argument(
        "--poll-workers",
        type=int,
        default=8,
        metavar="N",
        help="tags a poll HEADs at once, 1 to 10 (8); a tag whose digest is known is asked with "
        "If-None-Match, which distribution answers 304 without reading the manifest",
    )
    watch.add_argument(
        "--workers", type=int, default=2, metavar="N", help="judge workers in this process (2)"
    )
    watch.add_argument("--lease", type=float, default=60.0, metavar="S", help="job lease (60)")
    watch.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="also serve the web page and POST /hooks/registry here (e.g. 127.0.0.1:8000)",
    )
    watch.add_argument("--once", action="store_true", help="poll once, judge what is queued, exit")
    add_registry_arguments(watch)
    watch.set_defaults(handler=run_watch)

    worker = sub(commands, "worker", "a judge worker: claim queued jobs from the database and judge them")
    worker.add_argument("--jobs", type=int, default=1, metavar="N", help="worker threads (1)")
    worker.add_argument("--lease", type=float, default=60.0, metavar="S", help="job lease (60)")
    worker.add_argument("--until-idle", action="store_true", help="exit when no job is due")
    worker.add_argument("--all-contests", action="store_true", help="judge every contest's jobs")
    add_registry_arguments(worker)
    worker.set_defaults(handler=run_worker)


def register_rejudge(commands: object, sub: Sub) -> None:
    """Add ``rejudge`` to ``contest``'s ``commands``."""
    again = sub(commands, "rejudge", "judge submissions again; --preview shows the changes, --apply records")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every judged submission")
    which.add_argument("digests", nargs="*", default=[], metavar="DIGEST|ID")
    how = again.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--preview", action="store_true", help="judge and show what would change; record nothing"
    )
    how.add_argument("--apply", action="store_true", help="judge and record the new verdicts")
    again.add_argument("--actor", default="admin", help="who, in the events (admin)")
    add_registry_arguments(again)
    again.set_defaults(handler=run_rejudge)


def intake_line(intake: Intake) -> str:
    return f"{intake.tag} → {intake.digest[:19]}…: {intake.note}"


def describe(outcome: Outcome) -> str:
    text = {
        "judged": "judged",
        "reused": "judged before (same digest)",
        "retry": "pull failed, will retry",
        "lost": "lease lost (another worker has it)",
        "released": "released",
    }[outcome.action]
    # The status the contest's rules gave it (a duplicate: "REJECTED (duplicate)"), as the pages say.
    shown = outcome.status or outcome.verdict or ""
    line = f"submission #{outcome.submission}: {shown} {text}".replace("  ", " ")
    return f"{line} — {outcome.label}" if outcome.label else line


def _between(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UsageError(f"{flag} {value}: give between {low} and {high}")


# watch


def run_watch(args: argparse.Namespace, ctx: Context) -> int:
    _between("--workers", args.workers, 1, MAX_WORKERS)
    _between("--poll-workers", args.poll_workers, 1, MAX_POLL_WORKERS)
    options = WatchOptions(
        interval_s=args.interval, poll_workers=args.poll_workers, workers=args.workers, lease_s=args.lease
    )
    web = _web_options(args, ctx) if args.serve else None
    log_to_stderr(ctx)
    said = printer(ctx)
    listeners = Listeners(
        said=said,
        on_intake=lambda i: said(intake_line(i)),
        on_outcome=lambda o: said(describe(o)),
        on_sent=lambda s: said(sent_line(s)),
    )
    with judging(contest_at(args, ctx), registry_access(args, ctx), listeners) as judge:
        said(judge.describe())
        off = judge.polling_off()
        if off:
            said(f"not polling: {off}")
        if args.once:
            judge.poll_once(args.poll_workers)
            judge.judge_queued(args.lease)  # and sends the notifications its judgements caused
            print_board(judge.db, judge.contest, ctx)
            return 0
        with stoppable() as stop, _served(judge, web, ctx):
            judge.run(options, stop)
    return 0


def _web_options(args: argparse.Namespace, ctx: Context) -> WebOptions:
    host, port = parse_address(args.serve)
    admin, hook = tokens(args, ctx.environ)
    return WebOptions(host=host, port=port, admin_token=admin, hook_token=hook)


@contextlib.contextmanager
def _served(judge: Judging, web: WebOptions | None, ctx: Context) -> Iterator[None]:
    """``--serve``: the contest's site in a thread while the watcher runs."""
    if web is None:
        yield
        return
    site = hosted(judge.db, judge.contest, judge.registry, web)
    from imagegolf.web.serving import served  # start-up: FastAPI is loaded only when serving

    with served(site) as server:
        judge.listeners.said(
            f"serving the contest page on {server.url} (registry notifications: {server.url}/hooks/registry)"
        )
        yield


# worker


def run_worker(args: argparse.Namespace, ctx: Context) -> int:
    _between("--jobs", args.jobs, 1, MAX_WORKERS)
    log_to_stderr(ctx)
    say = printer(ctx)
    options = WorkOptions(
        jobs=args.jobs, lease_s=args.lease, until_idle=args.until_idle, all_contests=args.all_contests
    )
    done = work(
        contest_at(args, ctx),
        options,
        registry_access(args, ctx),
        on_outcome=lambda o: say(describe(o)),
        on_stopping=lambda: ctx.err("imagegolf: stopping: the workers finish their current image"),
    )
    if done is not None:
        ctx.out(f"queue empty: {done} job(s) done")
    return 0


# rejudge


def run_rejudge(args: argparse.Namespace, ctx: Context) -> int:
    if not args.all and not args.digests:
        raise UsageError("name the submissions to re-judge (DIGEST or ID), or --all")
    keys = None if args.all else args.digests
    found = rejudge(
        contest_at(args, ctx), registry_access(args, ctx), keys, apply=args.apply, actor=args.actor
    )
    for change in found.changes:
        s = change.state.submission
        mark = "  " if change.old == change.new else "→ "
        ctx.out(f"{mark}#{s.id} {s.entrant}:{s.tag} {str(s.digest)[:19]}  {change.old} → {change.new}")
    before = found.places_before
    moved = [
        f"{row.entrant} {before.get(row.entrant, '-')}→{row.place}"
        for row in found.after.board
        if before.get(row.entrant) != row.place
    ]
    ctx.out("board: " + (", ".join(moved) if moved else "unchanged"))
    if found.applied is not None:
        ctx.out(f"applied: {found.applied} rejudged event(s) recorded by {args.actor}")
    else:
        ctx.out("preview only: nothing recorded (use --apply)")
    return 0
