"""``imagegolf contest notify add|list|remove|send``: outgoing webhooks on a new record, an entrant's
first accepted image and every verdict (docs/contest.md, "Notifications").

``add`` and ``remove`` are audited events. ``send`` sends what is due (``--until-idle``: once,
for cron and tests); ``contest watch`` and ``imagegolf serve`` run a sender of their own (the
contest service starts it).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagegolf.cli.contest_args import Sub, contest_at, log_to_stderr, printer, usage
from imagegolf.cli.context import Context
from imagegolf.contest.notify import (
    add_webhook,
    deliveries,
    delivery_json,
    parse_kinds,
    remove_webhook,
    webhooks,
)
from imagegolf.contest.sender import Sent
from imagegolf.contest.service import SendOptions, opened, send, stoppable
from imagegolf.errors import UsageError


def register(commands: Any, sub: Sub) -> None:
    """Add ``notify`` to ``contest``'s ``commands`` (``sub``: contest_args.subcommand)."""
    notify = sub(
        commands, "notify", "outgoing webhooks: a new record, a first accepted image, verdicts (add, list…)"
    )
    actions = notify.add_subparsers(dest="notify_command", metavar="ACTION", parser_class=type(notify))
    notify.set_defaults(handler=lambda _a, ctx: usage(notify, ctx))

    add = sub(actions, "add", "POST notifications to a URL (a Slack or Discord webhook, or your own)")
    add.add_argument("url", metavar="URL", help="http:// or https:// (a Slack or Discord URL is a secret)")
    add.add_argument(
        "--format",
        default="generic",
        choices=("generic", "slack", "discord"),
        help="generic: imagegolf's JSON (default); slack: an incoming webhook's {text, blocks}; "
        "discord: an execute-webhook {content} that pings nobody",
    )
    add.add_argument(
        "--on",
        default="record,first",
        metavar="KINDS",
        help="what to send, comma-separated: record (a new record), first (an entrant's first accepted "
        "image), verdict (every judgement and re-judgement) (default record,first)",
    )
    add.add_argument(
        "--board",
        action="append",
        default=[],
        metavar="NAME",
        help="only these boards' new records (repeatable, or comma-separated; default: every board's)",
    )
    add.add_argument(
        "--site",
        metavar="URL",
        help="the contest's public address (e.g. https://golf.example): notifications link to pages",
    )
    add.add_argument("--actor", default="admin", help="who, in the events (admin)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=run_add)

    listing = sub(actions, "list", "the webhooks (scheme and host only) and their deliveries by state")
    listing.add_argument("--all", action="store_true", help="removed webhooks too")
    listing.add_argument("--deliveries", type=int, default=0, metavar="N", help="and the newest N deliveries")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    remove = sub(actions, "remove", "stop a webhook; its undelivered notifications are given up")
    remove.add_argument("id", type=int, metavar="ID")
    remove.add_argument("--actor", default="admin", help="who, in the events (admin)")
    remove.set_defaults(handler=run_remove)

    send = sub(actions, "send", "send the due notifications (watch and serve send them too)")
    send.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    send.add_argument("--lease", type=float, default=60.0, metavar="S", help="a delivery's lease (60)")
    send.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request (10)")
    send.set_defaults(handler=run_send)


def run_add(args: argparse.Namespace, ctx: Context) -> int:
    kinds = parse_kinds(args.on)
    boards = tuple(b.strip() for item in args.board for b in item.split(",") if b.strip())
    with opened(contest_at(args, ctx)) as (db, contest):
        webhook, warnings = add_webhook(
            db,
            contest,
            args.url,
            fmt=args.format,
            kinds=kinds,
            site=args.site,
            boards=boards,
            actor=args.actor,
        )
    for warning in warnings:
        ctx.err(f"imagegolf: warning: {warning}")
    if args.json:
        ctx.out(json.dumps(webhook.to_json(), indent=2))
        return 0
    ctx.out(
        f"webhook #{webhook.id}: {webhook.format} notifications on {', '.join(webhook.kinds)} "
        f"to {webhook.target}/… (recorded as an event by {args.actor})"
    )
    if webhook.boards and "record" in webhook.kinds:
        ctx.out(f"  records of the board(s) {', '.join(webhook.boards)} only")
    if webhook.site is None:
        ctx.out("  no --site: the notifications carry no link to the contest's pages")
    ctx.out("  sent by contest watch, imagegolf serve, or: imagegolf contest notify send --until-idle")
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    if args.deliveries < 0:
        raise UsageError("--deliveries N: give 0 or more")
    with opened(contest_at(args, ctx)) as (db, contest):
        found = webhooks(db, contest, removed=args.all)
        recent = deliveries(db, contest, limit=args.deliveries) if args.deliveries else []
    if args.json:
        out = {"webhooks": [w.to_json() for w in found], "deliveries": [delivery_json(r) for r in recent]}
        ctx.out(json.dumps(out, indent=2))
        return 0
    if not found:
        ctx.out(f"contest {contest.name!r} has no webhook: imagegolf contest notify add URL")
    for w in found:
        counts = ", ".join(f"{n} {state}" for state, n in w.counts.items() if n) or "nothing sent yet"
        gone = f"  REMOVED {w.removed_at}" if w.removed_at else ""
        waiting = f"  (waiting until {w.retry_at} after a failure)" if w.retry_at and not gone else ""
        on = ",".join(w.kinds) + (f" (records of {','.join(w.boards)})" if w.boards else "")
        ctx.out(f"#{w.id:<3} {w.format:<8} on {on:<20} {w.target}/…  {counts}{waiting}{gone}")
    for row in recent:
        shown = delivery_json(row)
        error = f"  {shown['last_error']}" if shown["last_error"] else ""
        ctx.out(
            f"  delivery {row.id} → #{row.webhook_id} {row.kind:<7} {row.entrant or '-':<16} "
            f"{row.state:<9} tries {row.attempts}{error}"
        )
    return 0


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    with opened(contest_at(args, ctx)) as (db, contest):
        webhook, dropped = remove_webhook(db, contest, args.id, actor=args.actor)
    ctx.out(
        f"webhook #{webhook.id} ({webhook.target}/…) removed by {args.actor}; "
        f"{dropped} undelivered notification(s) given up"
    )
    return 0


def sent_line(sent: Sent) -> str:
    what = {"delivered": "delivered", "retry": "will retry", "failed": "FAILED", "lost": "lease lost"}
    detail = f" ({sent.error})" if sent.error else ""
    then = f", next try {sent.next_at}" if sent.next_at else ""
    where = f"notification {sent.delivery} ({sent.kind}) → webhook #{sent.webhook}"
    return f"{where}: {what[sent.outcome]}{detail}{then}"


def run_send(args: argparse.Namespace, ctx: Context) -> int:
    if not 0 < args.timeout <= 300:
        raise UsageError(f"--timeout {args.timeout}: give 0 to 300 seconds")
    if args.lease <= args.timeout * 2:
        raise UsageError(
            f"--lease {args.lease:g}: give more than twice --timeout ({args.timeout:g} s): a sender "
            "must never lose its lease while it waits for an answer"
        )
    log_to_stderr(ctx)
    say = printer(ctx)
    options = SendOptions(lease_s=args.lease, timeout_s=args.timeout, until_idle=args.until_idle)
    with opened(contest_at(args, ctx)) as (db, contest), stoppable() as stop:
        try:
            sent = send(db, contest, options, on_sent=lambda s: say(sent_line(s)), stop=stop)
        except KeyboardInterrupt:
            ctx.err("imagegolf: stopping the notification sender")
            return 0
    if args.until_idle:
        done = sum(1 for s in sent if s.outcome == "delivered")
        ctx.out(f"nothing due: {len(sent)} tried, {done} delivered")
    return 0
