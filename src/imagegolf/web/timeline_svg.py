"""The record timeline as an SVG step chart: the record size over time, each step labelled. Pure.

x is when each record-setting submission was first seen; y is bytes by the board's metric, on a
log scale (powers of two: B, KiB, MiB; web/svg_common.py) when the records span more than
``LOG_RATIO`` (the seed's ladder went from 73.9 MB to 73 B), else linear from 0. The line holds
each record until the next one breaks it, and runs on to ``until`` (or a little past the last
record). Only presentation attributes, no ``style``: the chart obeys a strict
Content-Security-Policy and renders the same standalone or inline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from imagegolf.contest.standings import RecordPoint
from imagegolf.web.format import exact_size, human_size
from imagegolf.web.svg_common import (
    GRID,
    INK,
    LINE,
    MUTED,
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

LOG_RATIO = 20.0
_YScale = Callable[[int], float]  # size → y pixel

__all__ = ["LOG_RATIO", "esc", "size_label", "timeline_svg"]


def timeline_svg(
    records: Sequence[RecordPoint],
    *,
    width: int = 860,
    height: int = 340,
    scale: str = "auto",
    until: dt.datetime | None = None,
    title: str = "Record timeline",
    link: bool = True,
) -> str:
    """An ``<svg>`` document (also valid inline in HTML). ``scale``: auto, log or linear."""
    if scale not in ("auto", "log", "linear"):
        raise ValueError(f"scale {scale!r}: give auto, log or linear")
    frame = Frame(width, height, left=78, right=24, top=28 if title else 12, bottom=40)
    parts = open_svg(width, height, "timeline", title or "Record timeline")
    if title:
        parts.append(
            f'<text x="{frame.left}" y="18" font-size="14" font-weight="bold" fill="{INK}">'
            f"{esc(title)}</text>"
        )
    if not records:
        parts.append(frame_box(frame))
        parts.append(empty_note("no record yet: no accepted submission", frame))
        return "\n".join([*parts, "</svg>"]) + "\n"
    start, end = time_range([r.at for r in records], until)
    sizes = [r.size for r in records]
    use_log = scale == "log" or (scale == "auto" and max(sizes) / max(min(sizes), 1) > LOG_RATIO)
    if use_log:
        axis = log_axis(sizes, frame.top, frame.plot_h)
        y_of: _YScale = axis.y
        parts += y_grid(axis, frame)
    else:
        y_of, ticks = _linear_axis(sizes, frame)
        parts += _linear_grid(ticks, y_of, frame)
    x_of = x_scale(start, end, frame)
    parts += x_grid(start, end, frame)
    parts.append(frame_box(frame))
    parts.append(_step_path([(x_of(r.at), y_of(r.size)) for r in records], x_of(end)))
    taken: list[Box] = []
    for record in records:
        parts.append(_point(x_of(record.at), y_of(record.size), record, frame, link, taken))
    parts.append(axis_title("bytes, log scale" if use_log else "bytes", frame))
    return "\n".join([*parts, "</svg>"]) + "\n"


def _linear_axis(sizes: list[int], frame: Frame) -> tuple[_YScale, list[int]]:
    step = _nice_step(max(sizes) * 1.15 / 5)
    top = max(step * math.ceil(max(sizes) * 1.15 / step), step)

    def y_of(size: int) -> float:
        return frame.top + frame.plot_h * (1 - size / top)

    return y_of, list(range(0, top + 1, step))


def _nice_step(raw: float) -> int:
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


def _linear_grid(ticks: list[int], y_of: _YScale, frame: Frame) -> list[str]:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        parts.append(
            f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{esc(human_size(tick))}</text>"
        )
    return parts


def _step_path(points: list[tuple[float, float]], x_end: float) -> str:
    (x0, y0), rest = points[0], points[1:]
    path = [f"M{x0:.1f},{y0:.1f}"]
    for x, y in rest:
        path.append(f"H{x:.1f}V{y:.1f}")
    path.append(f"H{x_end:.1f}")
    return f'<path class="steps" d="{"".join(path)}" fill="none" stroke="{LINE}" stroke-width="2.5"/>'


def _point(x: float, y: float, record: RecordPoint, frame: Frame, link: bool, taken: list[Box]) -> str:
    label = f"{name_label(record.entrant)} · {size_label(record.size)}"
    broke = f", broke {exact_size(record.previous)}" if record.previous is not None else ""
    tooltip = (
        f"{record.entrant}: {exact_size(record.size)} (tag {record.tag}, #{record.submission_id}{broke})"
    )
    tx, ty, anchor = place_label(x, y, label, frame, taken)
    body = (
        f"<title>{esc(tooltip)}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{LINE}" stroke="#ffffff" stroke-width="1.5"/>'
        f'<text class="holder" x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" fill="{INK}" '
        'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
        f"{esc(label)}</text>"
    )
    if link:
        return f'<a href="/submissions/{record.submission_id}">{body}</a>'
    return f"<g>{body}</g>"
