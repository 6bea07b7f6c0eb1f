"""A leaderboard and its record timeline as a terminal table (contest board, watch --once, demo)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.contest import Contest, board, records
from imagegolf.contest.service import Database


def print_board(db: Database, contest: Contest, ctx: Context, name: str | None = None) -> None:
    """The board called ``name`` (None: the contest's first board)."""
    first = board(db, contest, board=name)
    rules = first.board
    metric = rules.metric
    console = Console(file=ctx.stdout, width=None if ctx.stdout.isatty() else 140, highlight=False)
    heading = f"{contest.name}: {contest.phrase!r}, board {rules.name}: {rules.describe()}"
    console.print(Text(heading), soft_wrap=True)  # one line, however narrow the table
    table = Table()
    for column in ("#", "entrant", metric, "tag", "digest", "reached"):
        table.add_column(column, justify="right" if column in ("#", metric) else "left", no_wrap=True)
    for number in range(1, first.page.count + 1):  # a page of entrants at a time
        view = first if number == 1 else board(db, contest, number, board=rules.name)
        for row in view.rows:
            s = row.best.submission
            table.add_row(
                str(row.place),
                Text(row.entrant),
                f"{human_size(row.size)} ({row.size})",
                Text(s.tag),
                str(s.digest)[:19],
                f"{s.first_seen:%Y-%m-%d %H:%M:%S}",
            )
    console.print(table)
    totals = first.totals
    if first.unranked:
        names = ", ".join(state.submission.entrant for state in first.unranked)
        more = totals.entrants - totals.ranked - len(first.unranked)
        console.print(Text(f"no accepted image yet: {names}" + (f" and {more} more" if more > 0 else "")))
    if totals.pending:
        console.print(Text(f"{totals.pending} submission(s) waiting to be judged"))
    console.print(Text("record timeline:"))
    timeline = records(db, contest, rules.name)
    for point in timeline:
        broke = f" (was {point.previous})" if point.previous is not None else ""
        console.print(Text(f"  {point.at:%Y-%m-%d %H:%M:%S}  {point.size:>9} B  {point.entrant}{broke}"))
    if not timeline:
        console.print(Text("  no record yet"))
