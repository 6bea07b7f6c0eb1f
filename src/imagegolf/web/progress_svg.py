"""The top entrants' progress on one board as an SVG chart (CTFd's score graph, in bytes). Pure.

One line per entrant among the board's first few: it starts at their first accepted submission
and steps down each time they beat their own best, then runs on to the right edge; each step is
a marker linked to its submission (its tooltip says which). y is bytes by the board's metric on a
log scale (powers of two; web/svg_common.py), x is when each submission was first seen. Each
line has its own colour and dash pattern and its place at its right end; the legend under the
plot names them (place, entrant, best). The ``<title>`` and ``<desc>`` say what it shows in words,
for a screen reader and for anyone the picture does not reach. No script: it is complete as
served, inline in a page or alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from imagegolf.contest.standings import BoardRow, SubmissionState
from imagegolf.web.format import exact_size
from imagegolf.web.svg_common import (
    DASHES,
    INK,
    PALETTE,
    Frame,
    YScale,
    axis_title,
    empty_note,
    esc,
    frame_box,
    log_axis,
    name_label,
    open_svg,
    size_label,
    time_range,
    x_grid,
    x_scale,
    y_grid,
)

TOP = 5  # entrants drawn
_LEGEND_ROW = 20


@dataclass(frozen=True)
class Point:
    """An accepted submission on a board: when it was first seen, its size there, its id."""

    at: dt.datetime
    size: int
    submission_id: int


@dataclass(frozen=True)
class Series:
    """One entrant's line: their place on the board and their improvements, oldest first."""

    place: int
    entrant: str
    steps: tuple[Point, ...]  # each strictly smaller than the one before

    @property
    def best(self) -> Point:
        return self.steps[-1]


def accepted_points(states: Iterable[SubmissionState]) -> list[Point]:
    """The accepted submissions among ``states`` (first seen first) with their size on the board."""
    return [
        Point(s.submission.first_seen, s.size, s.submission.id)
        for s in states
        if s.ranked and s.size is not None
    ]


def improvements(points: Iterable[Point]) -> list[Point]:
    """The points (first seen first) that beat every one before them: an entrant's steps down."""
    steps: list[Point] = []
    for point in sorted(points, key=lambda p: (p.at, p.submission_id)):
        if not steps or point.size < steps[-1].size:
            steps.append(point)
    return steps


def series_of(row: BoardRow, history: Iterable[SubmissionState]) -> Series:
    """An entrant's line from their board row and (some of) their history: the improvements in
    the history, ending at their best on the board (whether the history holds it or not)."""
    best = Point(row.best.submission.first_seen, row.size, row.best.submission.id)
    steps = [p for p in improvements(accepted_points(history)) if p.at <= best.at and p.size > best.size]
    return Series(row.place, row.entrant, (*steps, best))


def progress_svg(
    series: Sequence[Series],
    *,
    board: str,
    metric: str,
    width: int = 860,
    plot_height: int = 260,
    ident: str = "progress",
    until: dt.datetime | None = None,
) -> str:
    """An ``<svg>`` of the entrants' lines (first place first), with a legend under the plot."""
    title = (
        f"Top {len(series)} on {board}: their best by {metric} over time"
        if series
        else (f"Top entrants on {board}")
    )
    legend_h = _LEGEND_ROW * len(series) + (12 if series else 0)
    height = 28 + plot_height + 40 + legend_h
    frame = Frame(width, height, left=78, right=34, top=28, bottom=40 + legend_h)
    parts = open_svg(width, height, "progress", title, _describe(series, board, metric), ident)
    parts.append(
        f'<text x="{frame.left}" y="18" font-size="14" font-weight="bold" fill="{INK}">{esc(title)}</text>'
    )
    if not series:
        parts.append(frame_box(frame))
        parts.append(empty_note("no one on this board yet: no accepted submission", frame))
        return "\n".join([*parts, "</svg>"]) + "\n"
    every = [p for s in series for p in s.steps]
    start, end = time_range([p.at for p in every], until)
    axis = log_axis([p.size for p in every], frame.top, frame.plot_h)
    x_of = x_scale(start, end, frame)
    parts += y_grid(axis, frame)
    parts += x_grid(start, end, frame)
    parts.append(frame_box(frame))
    x_end = x_of(end)
    # The last place first: the leader's line is drawn over the others.
    for n in reversed(range(len(series))):
        parts.append(_line(series[n], n, x_of, axis.y, x_end))
    parts += _end_labels(series, axis.y, frame)
    parts.append(axis_title("bytes, log scale", frame))
    parts += _legend(series, frame)
    return "\n".join([*parts, "</svg>"]) + "\n"


def _describe(series: Sequence[Series], board: str, metric: str) -> str:
    if not series:
        return f"No entrant is on the {board} board yet."
    lines = []
    for s in series:
        first, best = s.steps[0], s.best
        if len(s.steps) == 1:
            lines.append(f"{s.place}. {s.entrant}: {exact_size(best.size)}")
        else:
            lines.append(
                f"{s.place}. {s.entrant}: from {exact_size(first.size)} to {exact_size(best.size)} "
                f"in {len(s.steps) - 1} improvement{'s' if len(s.steps) > 2 else ''}"
            )
    return f"Each entrant's best on {board} by {metric}, log scale, over time. " + "; ".join(lines) + "."


def _line(s: Series, n: int, x_of: Callable[[dt.datetime], float], y_of: YScale, x_end: float) -> str:
    colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
    points = [(x_of(p.at), y_of(p.size)) for p in s.steps]
    (x0, y0), rest = points[0], points[1:]
    path = [f"M{x0:.1f},{y0:.1f}"] + [f"H{x:.1f}V{y:.1f}" for x, y in rest] + [f"H{x_end:.1f}"]
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [
        f'<g class="series" data-place="{s.place}">',
        f'<path class="line" d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5"'
        f'{dashed} stroke-linejoin="round"/>',
    ]
    for point, (x, y) in zip(s.steps, points, strict=True):
        tip = f"{s.entrant}: {exact_size(point.size)} (#{point.submission_id})"
        parts.append(
            f'<a href="/submissions/{point.submission_id}"><title>{esc(tip)}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" stroke="#ffffff" '
            'stroke-width="1.5"/></a>'
        )
    parts.append("</g>")
    return "".join(parts)


def _end_labels(series: Sequence[Series], y_of: YScale, frame: Frame) -> list[str]:
    """Each line's place at its right end, in the margin, nudged apart so none overlaps."""
    wanted = sorted(((y_of(s.best.size), n) for n, s in enumerate(series)), key=lambda t: t[0])
    placed: list[tuple[float, int]] = []
    for y, n in wanted:
        if placed and y < placed[-1][0] + 12:
            y = placed[-1][0] + 12
        placed.append((y, n))
    overflow = placed[-1][0] - frame.plot_bottom if placed else 0
    if overflow > 0:  # pushed past the bottom: shift them all up
        placed = [(y - overflow, n) for y, n in placed]
    x = frame.width - frame.right + 5
    return [
        f'<text class="end" x="{x}" y="{y + 4:.1f}" fill="{PALETTE[n % len(PALETTE)]}" '
        f'font-weight="bold">{series[n].place}</text>'
        for y, n in placed
    ]


def _legend(series: Sequence[Series], frame: Frame) -> list[str]:
    top = frame.plot_bottom + 48
    parts = ['<g class="legend">']
    for n, s in enumerate(series):
        y = top + _LEGEND_ROW * n
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        steps = len(s.steps) - 1
        moved = f", {steps} step{'s' if steps != 1 else ''} down" if steps else ""
        text = f"{s.place}. {name_label(s.entrant, 40)} · {size_label(s.best.size)}{moved}"
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.left + 34}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="2.5"{dashed}/>'
            f'<circle cx="{frame.left + 17}" cy="{y:.1f}" r="4" fill="{colour}"/>'
            f'<text class="who" x="{frame.left + 44}" y="{y + 4:.1f}" fill="{INK}">{esc(text)}</text>'
        )
    parts.append("</g>")
    return parts


__all__ = ["TOP", "Point", "Series", "accepted_points", "improvements", "progress_svg", "series_of"]
