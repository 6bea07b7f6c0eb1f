"""``imagegolf contest …``: create, watch, judge (workers), show, export, re-judge, disqualify.

Every sub-command takes ``--db URL`` (a SQLite file, the default ``contest.db`` or
$IMAGEGOLF_DB; or postgresql://…) and ``--contest NAME`` (needed only when the database holds
several contests). docs/contest.md has the rules and the data model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from imagegolf.cli import contest_notify, sources
from imagegolf.cli.board import print_board
from imagegolf.cli.context import Context
from imagegolf.cli.message import DEFAULT_MESSAGE
from imagegolf.errors import UsageError

if TYPE_CHECKING:
    from imagegolf.contest import Contest, Intake
    from imagegolf.contest.worker import Outcome
    from imagegolf.db import Database
    from imagegolf.registry import RegistryClient

DEFAULT_DB = "contest.db"
ENV_DB = "IMAGEGOLF_DB"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "contest",
        help="run a contest: watch a shared repository, judge every pushed tag, rank (docs/contest.md)",
    )
    commands = parser.add_subparsers(dest="contest_command", metavar="ACTION", parser_class=type(parser))
    parser.set_defaults(handler=lambda _args, ctx: _usage(parser, ctx))

    init = _sub(commands, "init", "create a contest in the database (created if missing)")
    init.add_argument("--name", default="imagegolf", help="the contest's name (default imagegolf)")
    init.add_argument("--repository", required=True, metavar="REGISTRY/REPO", help="the shared repository")
    init.add_argument(
        "--phrase", default=DEFAULT_MESSAGE, help=f"what images must print ({DEFAULT_MESSAGE!r})"
    )
    init.add_argument("--match", default="contains", choices=("contains", "line", "exact"))
    init.add_argument("--metric", default="docker_classic", help="what ranks: docker_classic (default), …")
    init.add_argument(
        "--platform",
        metavar="P[,P…]",
        help="the platforms judged, in order of preference: which image of an index is taken, and "
        "which foreign ones run through emulation (default: the judge host's own, e.g. "
        "linux/amd64 then linux/386)",
    )
    init.add_argument(
        "--entrant-pattern",
        default=r"(?P<entrant>.+)",
        metavar="REGEX",
        help="a tag matching it is an entry of the group 'entrant' (default: the tag itself)",
    )
    init.add_argument(
        "--entrant",
        action="append",
        default=[],
        metavar="TAG=NAME",
        help="map a tag to an entrant explicitly (repeatable)",
    )
    init.add_argument(
        "--identity",
        choices=("tag", "registry-user"),
        default="tag",
        help="who an entry belongs to: the tag's name (tag, the default: the tag is trusted), or the "
        "registry account that pushed it, from the registry's notification (registry-user)",
    )
    init.add_argument(
        "--repositories",
        choices=("shared", "per-entrant"),
        default="shared",
        help="one shared repository (default), or REPOSITORY/ENTRANT per entrant, which only that "
        "entrant can push to (imagegolf is the registry's token server: contest registry)",
    )
    init.add_argument(
        "--freeze-at",
        metavar="TIME",
        help="ISO-8601; from then to the end the public board stops moving (docs/contest.md)",
    )
    init.add_argument("--starts", metavar="TIME", help="ISO-8601; pushes before it are not judged")
    init.add_argument("--ends", metavar="TIME", help="ISO-8601; pushes after it are not judged")
    init.add_argument(
        "--per-hour",
        type=int,
        default=30,
        metavar="N",
        help="submissions judged per entrant per hour; more wait their turn (30; 0: no limit)",
    )
    init.add_argument("--runs", type=int, default=3, metavar="N", help="runs per image (3)")
    init.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wall-time limit per run (10)")
    init.add_argument(
        "--no-cross-check",
        dest="cross_check",
        action="store_false",
        help="do not compare the size the engine stores with the judge's (a mismatch is REJECTED_IMAGE)",
    )
    init.add_argument(
        "--runtime",
        default="runc",
        metavar="NAME",
        help="runc (default), or runsc: images run under gVisor (docs/judge.md)",
    )
    init.set_defaults(handler=run_init)

    watch = _sub(
        commands, "watch", "poll the repository's tags, queue new digests, judge them with N workers"
    )
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
    sources.add_registry_arguments(watch)
    watch.set_defaults(handler=run_watch)

    worker = _sub(commands, "worker", "a judge worker: claim queued jobs from the database and judge them")
    worker.add_argument("--jobs", type=int, default=1, metavar="N", help="worker threads (1)")
    worker.add_argument("--lease", type=float, default=60.0, metavar="S", help="job lease (60)")
    worker.add_argument("--until-idle", action="store_true", help="exit when no job is due")
    worker.add_argument("--all-contests", action="store_true", help="judge every contest's jobs")
    sources.add_registry_arguments(worker)
    worker.set_defaults(handler=run_worker)

    from imagegolf.cli import contest_boards  # board [--name N] [show N | list | add N … | remove N]

    contest_boards.register(commands, _sub)

    history = _sub(commands, "history", "every submission of one entrant")
    history.add_argument("entrant")
    history.add_argument("--board", metavar="NAME", help="statuses and sizes on this board (the first)")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=run_history)

    export = _sub(commands, "export", "every submission, the board and the timeline, as CSV or JSON")
    form = export.add_mutually_exclusive_group(required=True)
    form.add_argument("--csv", action="store_true")
    form.add_argument("--json", action="store_true")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--board", metavar="NAME", help="states, places, timeline of this board (the first)")
    export.set_defaults(handler=run_export)

    rejudge = _sub(
        commands, "rejudge", "judge submissions again; --preview shows the changes, --apply records"
    )
    which = rejudge.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every judged submission")
    which.add_argument("digests", nargs="*", default=[], metavar="DIGEST|ID")
    how = rejudge.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--preview", action="store_true", help="judge and show what would change; record nothing"
    )
    how.add_argument("--apply", action="store_true", help="judge and record the new verdicts")
    rejudge.add_argument("--actor", default="admin", help="who, in the events (admin)")
    sources.add_registry_arguments(rejudge)
    rejudge.set_defaults(handler=run_rejudge)

    disqualify = _sub(commands, "disqualify", "disqualify a submission (by digest: every submission of it)")
    disqualify.add_argument("digest", metavar="DIGEST|ID")
    disqualify.add_argument("--reason", required=True)
    disqualify.add_argument("--actor", default="admin", help="who, in the events (admin)")
    disqualify.set_defaults(handler=run_disqualify)

    reindex = _sub(
        commands, "reindex", "rebuild the derived standings (board, statuses, timeline) from the events"
    )
    reindex.set_defaults(handler=run_reindex)

    from imagegolf.cli import contest_accounts

    contest_accounts.register(commands, _sub)
    from imagegolf.cli import contest_settings  # set, reinstate, unfreeze

    contest_settings.register(commands, _sub)
    contest_notify.register(commands, _sub)  # notify add, list, remove, send: outgoing webhooks


def _sub(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    add_database_arguments(parser)
    return parser


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db URL`` and ``--contest NAME``: every contest sub-command and ``serve`` take them."""
    parser.add_argument(
        "--db", metavar="URL", help=f"SQLite file or postgresql://… (${ENV_DB}, else {DEFAULT_DB})"
    )
    parser.add_argument(
        "--contest", metavar="NAME", help="which contest (needed if the database holds several)"
    )


def _printer(ctx: Context) -> Callable[[str], None]:
    """Whole lines to stdout, flushed, from any thread (workers report as they finish)."""
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            ctx.out(text)
            ctx.stdout.flush()

    return say


def _intake_line(intake: Intake) -> str:
    return f"{intake.tag} → {intake.digest[:19]}…: {intake.note}"


def _usage(parser: argparse.ArgumentParser, ctx: Context) -> int:
    parser.print_help(ctx.stderr)
    return 2


def db_url(args: argparse.Namespace, ctx: Context) -> str:
    return str(args.db or ctx.environ.get(ENV_DB) or DEFAULT_DB)


@contextlib.contextmanager
def opened(args: argparse.Namespace, ctx: Context) -> Iterator[tuple[Database, Contest]]:
    from imagegolf.contest import open_contest
    from imagegolf.db import open_database

    with open_database(db_url(args, ctx), retry_s=10.0) as db:
        yield db, open_contest(db, args.contest)


# init


def run_init(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest import create_contest
    from imagegolf.db import open_database
    from imagegolf.engine.runtimes import check_runtime

    mapping = {}
    for item in args.entrant:
        tag, sep, name = item.partition("=")
        if not sep or not tag or not name:
            raise UsageError(f"--entrant {item!r}: give TAG=NAME")
        mapping[tag] = name
    limits = {
        "per_entrant_per_hour": args.per_hour,
        "runs": args.runs,
        "timeout_s": args.timeout,
        "cross_check": args.cross_check,
        "runtime": check_runtime(args.runtime),
    }
    with open_database(db_url(args, ctx), retry_s=10.0) as db:
        contest = create_contest(
            db,
            name=args.name,
            phrase=args.phrase,
            repository=args.repository,
            match=args.match,
            metric=args.metric,
            platform=args.platform,
            entrant_pattern=args.entrant_pattern,
            entrant_map=mapping,
            starts_at=args.starts,
            ends_at=args.ends,
            limits=limits,
            identity=args.identity,
            repositories=args.repositories,
            freeze_at=args.freeze_at,
        )
        ctx.out(f"contest {contest.name!r} created in {db.url}")
    ctx.out(f"  watching  {contest.watched}{'/ENTRANT' if contest.per_entrant else ''} ({_who(contest)})")
    ctx.out(f"  phrase    {contest.phrase!r} ({contest.match.value}), ranked by {contest.metric}")
    from imagegolf.contest.boards import default_boards

    names = ", ".join(b.name for b in default_boards(contest.metric))
    ctx.out(f"  boards    {names} (see them: imagegolf contest board list)")
    if contest.identity.value == "registry-user" or contest.per_entrant:
        ctx.out(f"next: imagegolf contest entrant add NAME --db {args.db or db_url(args, ctx)}")
    ctx.out(f"next: imagegolf contest watch --db {args.db or db_url(args, ctx)}")
    return 0


def _who(contest: Contest) -> str:
    if contest.per_entrant:
        return "each entrant pushes to their own repository"
    if contest.identity.value == "registry-user":
        return "the registry account that pushed is the entrant"
    return f"a tag is an entrant: {contest.entrant_pattern}"


# watch and workers


def registry_factory(args: argparse.Namespace, ctx: Context, db: Database) -> Any:
    """The registry client for a contest's repository. A contest whose registry imagegolf runs
    (it has entrant accounts) is read with the judge's own account unless --username says
    otherwise: its password is derived from the contest's key, so it needs no configuration."""

    def make(contest: Contest) -> RegistryClient:
        from imagegolf.contest import accounts, tokens

        if not getattr(args, "username", None) and accounts.entrants(db, contest):
            from imagegolf.registry import open_registry

            username, password = tokens.judge_credentials(db, contest)
            return open_registry(
                contest.registry,
                username=username,
                password=password,
                insecure=getattr(args, "insecure", False),
                ca_bundle=getattr(args, "ca_bundle", None),
                env=ctx.environ,
            )
        return sources.registry_client(args, ctx, contest.registry)

    return make


def _describe(outcome: Outcome) -> str:
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


@contextlib.contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """An event set on SIGTERM (Ctrl-C raises KeyboardInterrupt as usual)."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        stop.set()
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _logging(ctx: Context) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=ctx.stderr, level=logging.WARNING, format="imagegolf: %(message)s")


def run_watch(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest.watch import MAX_POLL_WORKERS, poll_once, watch
    from imagegolf.contest.worker import Worker, WorkerOptions, run_workers
    from imagegolf.engine import connect

    if not 1 <= args.workers <= 16:
        raise UsageError(f"--workers {args.workers}: give between 1 and 16")
    if not 1 <= args.poll_workers <= MAX_POLL_WORKERS:
        raise UsageError(f"--poll-workers {args.poll_workers}: give between 1 and {MAX_POLL_WORKERS}")
    _logging(ctx)
    said = _printer(ctx)
    with opened(args, ctx) as (db, contest), connect(ctx.environ) as engine:
        registry = registry_factory(args, ctx, db)(contest)
        options = WorkerOptions(lease_s=args.lease, contest_id=contest.id)
        said(f"watching {contest.watched} for contest {contest.name!r}; engine {engine.describe()}")
        if contest.identity.value == "registry-user" and not contest.per_entrant:
            from imagegolf.contest.watch import POLL_OFF

            said(f"not polling: {POLL_OFF}")
        if args.once:
            for intake in poll_once(db, contest, registry, workers=args.poll_workers):
                said(_intake_line(intake))
            worker = Worker(
                db,
                engine=engine,
                registry=lambda _c: registry,
                options=options,
                on_outcome=lambda o: said(_describe(o)),
            )
            worker.run(threading.Event(), until_idle=True)
            contest_notify.send_due(db, contest, said)  # what the judgements caused: notifications
            print_board(db, contest, ctx)
            return 0
        with _interruptible() as stop, _served(args, ctx, db, contest, said, registry):
            threads = run_workers(
                db,
                engine=engine,
                registry=lambda _c: registry,
                count=args.workers,
                stop=stop,
                options=options,
                on_outcome=lambda o: said(_describe(o)),
            )
            threads.append(contest_notify.start(db, contest, stop))  # outgoing notifications
            try:
                watch(
                    db,
                    contest,
                    registry,
                    interval_s=args.interval,
                    stop=stop,
                    on_intake=lambda i: said(_intake_line(i)),
                    workers=args.poll_workers,
                )
            except KeyboardInterrupt:
                said("stopping: the workers finish their current image")
            stop.set()
            for thread in threads:
                thread.join()
    return 0


@contextlib.contextmanager
def _served(
    args: argparse.Namespace,
    ctx: Context,
    db: Database,
    contest: Contest,
    said: Callable[[str], None],
    registry: RegistryClient,
) -> Iterator[None]:
    if not args.serve:
        yield
        return
    from imagegolf.cli.serve import parse_address, tokens
    from imagegolf.web import create_app
    from imagegolf.web.server import serve_in_thread

    host, port = parse_address(args.serve)
    admin, hook = tokens(args, ctx.environ)
    check_hook_trust(contest, hook)
    app = create_app(db, contest.name, admin_token=admin, hook_token=hook, registry=registry)
    server = serve_in_thread(app, host, port)
    said(f"serving the contest page on {server.url} (registry notifications: {server.url}/hooks/registry)")
    try:
        yield
    finally:
        server.stop()


def check_hook_trust(contest: Contest, hook_token: str | None) -> None:
    """Identity registry-user believes the account a notification names: only a sender holding
    the hook token may name one."""
    if contest.identity.value == "registry-user" and not contest.per_entrant and hook_token is None:
        raise UsageError(
            "identity registry-user takes the entrant from the registry's notifications: the hook "
            "needs a token, or anyone could post a notification naming any account",
            hint="export IMAGEGOLF_HOOK_TOKEN=$(openssl rand -hex 32) (and give contest registry the same)",
        )


def run_worker(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest.worker import WorkerOptions, run_workers
    from imagegolf.engine import connect

    if not 1 <= args.jobs <= 16:
        raise UsageError(f"--jobs {args.jobs}: give between 1 and 16")
    _logging(ctx)
    say = _printer(ctx)

    def said(outcome: Outcome) -> None:
        say(_describe(outcome))

    from imagegolf.contest import open_contest
    from imagegolf.db import open_database

    with open_database(db_url(args, ctx)) as db, connect(ctx.environ) as engine:
        contest_id = None if args.all_contests else open_contest(db, args.contest).id
        options = WorkerOptions(lease_s=args.lease, contest_id=contest_id)
        make = registry_factory(args, ctx, db)
        if args.until_idle:
            from imagegolf.contest.worker import Worker

            done = Worker(db, engine=engine, registry=make, options=options, on_outcome=said).run(
                threading.Event(), until_idle=True
            )
            ctx.out(f"queue empty: {done} job(s) done")
            return 0
        with _interruptible() as stop:
            threads = run_workers(
                db, engine=engine, registry=make, count=args.jobs, stop=stop, options=options, on_outcome=said
            )
            try:
                while any(t.is_alive() for t in threads) and not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                ctx.err("imagegolf: stopping: the workers finish their current image")
            stop.set()
            for thread in threads:
                thread.join()
    return 0


# reading


def run_history(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest import entrant
    from imagegolf.contest.export import submission_row

    with opened(args, ctx) as (db, contest):
        first = entrant(db, contest, args.entrant, board=args.board)
        more = range(2, first.page.count + 1)
        pages = [first] + [entrant(db, contest, args.entrant, n, board=first.board.name) for n in more]
    states = [state for page in pages for state in page.states]
    places = {first.row.best.submission.id: first.row.place} if first.row else {}
    metric = first.board.metric
    if args.json:
        rows = [submission_row(s, metric, places.get(s.submission.id)) for s in states]
        ctx.out(json.dumps(rows, indent=2))
        return 0
    ctx.out(f"{args.entrant}: {len(states)} submission(s), board {first.board.name}, ranked by {metric}")
    for state in states:
        s = state.submission
        size = "-" if state.size is None else str(state.size)
        ctx.out(
            f"  #{s.id:<4} {s.first_seen:%Y-%m-%d %H:%M:%S}  {s.tag:<20} {str(s.digest)[:19]}  "
            f"{state.label:<20} {size:>9}  {state.reason}"
        )
    return 0


def run_export(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest import snapshot
    from imagegolf.contest.export import export_csv, export_json

    with opened(args, ctx) as (db, contest):
        snap = snapshot(db, contest, args.board)
    text = export_csv(snap) if args.csv else json.dumps(export_json(snap), indent=2) + "\n"
    if args.output:
        from pathlib import Path

        from imagegolf.errors import OutputError

        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise OutputError(f"cannot write {args.output}: {error.strerror}") from error
        ctx.err(f"wrote {args.output} ({len(snap.standings.states)} submissions)")
    else:
        ctx.stdout.write(text)
    return 0


# organiser actions


def run_rejudge(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest import rejudge, standings
    from imagegolf.engine import connect

    if not args.all and not args.digests:
        raise UsageError("name the submissions to re-judge (DIGEST or ID), or --all")
    with opened(args, ctx) as (db, contest), connect(ctx.environ) as engine:
        registry = registry_factory(args, ctx, db)(contest)
        changes = rejudge.rejudge(
            db, contest, None if args.all else args.digests, engine=engine, registry=registry
        )
        before = {row.entrant: row.place for row in standings(db, contest).board}
        after = rejudge.preview(db, contest, changes)
        for change in changes:
            s = change.state.submission
            mark = "  " if change.old == change.new else "→ "
            ctx.out(f"{mark}#{s.id} {s.entrant}:{s.tag} {str(s.digest)[:19]}  {change.old} → {change.new}")
        moved = [
            f"{row.entrant} {before.get(row.entrant, '-')}→{row.place}"
            for row in after.board
            if before.get(row.entrant) != row.place
        ]
        ctx.out("board: " + (", ".join(moved) if moved else "unchanged"))
        if args.apply:
            count = rejudge.apply(db, contest, changes, actor=args.actor)
            ctx.out(f"applied: {count} rejudged event(s) recorded by {args.actor}")
        else:
            ctx.out("preview only: nothing recorded (use --apply)")
    return 0


def run_reindex(args: argparse.Namespace, ctx: Context) -> int:
    import time

    from imagegolf.contest.derived import rebuild

    with opened(args, ctx) as (db, contest):
        started = time.monotonic()
        meta = db.run(lambda tx: rebuild(tx, contest))
    ctx.out(
        f"rebuilt {contest.name} from its events (through #{meta.applied_event}) "
        f"in {time.monotonic() - started:.1f} s: "
        f"{meta.submissions} submissions, {meta.entrants} entrants, {meta.ranked} on the board, "
        f"{meta.pending} pending"
    )
    return 0


def run_disqualify(args: argparse.Namespace, ctx: Context) -> int:
    from imagegolf.contest import disqualify

    with opened(args, ctx) as (db, contest):
        count = disqualify(db, contest, args.digest, args.reason, actor=args.actor)
    ctx.out(f"disqualified {count} submission(s) of {args.digest}: {args.reason}")
    return 0
