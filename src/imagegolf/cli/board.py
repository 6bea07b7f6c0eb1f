"""The leaderboard and record timeline as a terminal table (contest board, watch --once, demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size

if TYPE_CHECKING:
    from imagegolf.contest import Contest
    from imagegolf.db import Database


def print_board(db: Database, contest: Contest, ctx: Context) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from imagegolf.contest import snapshot

    snap = snapshot(db, contest)
    standings = snap.standings
    console = Console(file=ctx.stdout, width=None if ctx.stdout.isatty() else 140, highlight=False)
    table = Table(
        title=f"{contest.name}: {contest.phrase!r}, ranked by {contest.metric}", title_justify="left"
    )
    for name in ("#", "entrant", contest.metric, "tag", "digest", "reached"):
        table.add_column(name, justify="right" if name in ("#", contest.metric) else "left", no_wrap=True)
    for row in standings.board:
        s = row.best.submission
        table.add_row(
            str(row.place),
            Text(row.entrant),
            f"{human_size(row.size)} ({row.size})",
            Text(s.tag),
            s.digest[:19],
            s.first_seen[:19].replace("T", " "),
        )
    console.print(table)
    if standings.unranked:
        console.print(Text("no accepted image yet: " + ", ".join(standings.unranked)))
    if standings.pending:
        console.print(Text(f"{standings.pending} submission(s) waiting to be judged"))
    console.print(Text("record timeline:"))
    for point in standings.records:
        broke = f" (was {point.previous})" if point.previous is not None else ""
        console.print(Text(f"  {point.at[:19].replace('T', ' ')}  {point.size:>9} B  {point.entrant}{broke}"))
    if not standings.records:
        console.print(Text("  no record yet"))
