"""One entrant's sizes over time on one board as an SVG chart, their best highlighted. Pure.

Each accepted submission is a point (x: first seen; y: bytes by the board's metric on a log
scale, powers of two: web/svg_common.py), linked to its submission; a step line follows their
best so far; their best (what ranks them) is ringed and labelled. ``<title>`` and ``<desc>`` say
it in words. No script, presentation attributes only (the site's Content-Security-Policy).
"""

from __future__ import annotations

from collections.abc import Sequence

from imagegolf.web.format import exact_size, show_time
from imagegolf.web.progress_svg import Point, improvements
from imagegolf.web.svg_common import (
    GOLD,
    INK,
    LINE,
    PALETTE,
    Box,
    Frame,
    axis_title,
    empty_note,
    esc,
    frame_box,
    log_axis,
    name_label,
    open_svg,
    place_label,
    size_label,
    time_range,
    x_grid,
    x_scale,
    y_grid,
)

_POINT = PALETTE[0]


def entrant_svg(
    points: Sequence[Point],
    best: Point | None,
    *,
    entrant: str,
    board: str,
    metric: str,
    width: int = 860,
    height: int = 300,
    ident: str = "entrant-chart",
) -> str:
    """An ``<svg>`` of ``points`` (accepted submissions, any order) with ``best`` highlighted (it is
    drawn even when ``points``, one page of a long history, does not hold it)."""
    shown = {p.submission_id: p for p in points}
    if best is not None:
        shown.setdefault(best.submission_id, best)
    every = sorted(shown.values(), key=lambda p: (p.at, p.submission_id))
    title = f"{name_label(entrant, 60)} on {board}: accepted sizes by {metric}"
    frame = Frame(width, height, left=78, right=24, top=28, bottom=40)
    parts = open_svg(width, height, "entrant-chart", title, _describe(every, best, entrant, board), ident)
    parts.append(
        f'<text x="{frame.left}" y="18" font-size="14" font-weight="bold" fill="{INK}">{esc(title)}</text>'
    )
    if not every:
        parts.append(frame_box(frame))
        parts.append(empty_note("no accepted submission on this board yet", frame))
        return "\n".join([*parts, "</svg>"]) + "\n"
    start, end = time_range([p.at for p in every])
    axis = log_axis([p.size for p in every], frame.top, frame.plot_h)
    x_of = x_scale(start, end, frame)
    parts += y_grid(axis, frame)
    parts += x_grid(start, end, frame)
    parts.append(frame_box(frame))
    steps = [(x_of(p.at), axis.y(p.size)) for p in improvements(every)]
    (x0, y0), rest = steps[0], steps[1:]
    path = [f"M{x0:.1f},{y0:.1f}"] + [f"H{x:.1f}V{y:.1f}" for x, y in rest] + [f"H{x_of(end):.1f}"]
    parts.append(
        f'<path class="best-so-far" d="{"".join(path)}" fill="none" stroke="{LINE}" stroke-width="2" '
        'stroke-linejoin="round"/>'
    )
    for point in every:
        if best is None or point.submission_id != best.submission_id:
            parts.append(_point(point, x_of(point.at), axis.y(point.size)))
    if best is not None:
        taken: list[Box] = []
        parts.append(_best(best, x_of(best.at), axis.y(best.size), frame, taken))
    parts.append(axis_title("bytes, log scale", frame))
    return "\n".join([*parts, "</svg>"]) + "\n"


def _describe(every: Sequence[Point], best: Point | None, entrant: str, board: str) -> str:
    if not every:
        return f"{entrant} has no accepted submission on the {board} board yet."
    count = f"{len(every)} accepted submission{'s' if len(every) != 1 else ''}"
    text = f"{entrant} on {board}: {count}, the first {exact_size(every[0].size)}"
    if best is not None:
        text += f"; their best {exact_size(best.size)} (#{best.submission_id}, {show_time(best.at)})"
    return text + "."


def _point(point: Point, x: float, y: float) -> str:
    tip = f"#{point.submission_id}: {exact_size(point.size)}, first seen {show_time(point.at)}"
    return (
        f'<a href="/submissions/{point.submission_id}"><title>{esc(tip)}</title>'
        f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{_POINT}" stroke="#ffffff" '
        'stroke-width="1.5"/></a>'
    )


def _best(best: Point, x: float, y: float, frame: Frame, taken: list[Box]) -> str:
    label = f"best · {size_label(best.size)}"
    tip = f"their best: #{best.submission_id}, {exact_size(best.size)}, first seen {show_time(best.at)}"
    tx, ty, anchor = place_label(x, y, label, frame, taken)
    return (
        f'<a class="best" href="/submissions/{best.submission_id}"><title>{esc(tip)}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="none" stroke="{GOLD}" stroke-width="2.5"/>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{GOLD}" stroke="#ffffff" stroke-width="1.5"/>'
        f'<text class="best-label" x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" fill="{INK}" '
        'font-weight="bold" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
        f"{esc(label)}</text></a>"
    )


__all__ = ["entrant_svg"]
