"""The record timeline as an SVG step chart: the record size over time, each step labelled. Pure.

x is when each record-setting submission was first seen; y is bytes by the contest's metric, on
a log scale when the records span more than ``LOG_RATIO`` (the seed's ladder went from 73.9 MB
to 73 B), else linear from 0. The line holds each record until the next one breaks it, and runs
on to ``until`` (or a little past the last record). Only presentation attributes, no ``style``:
the chart obeys a strict Content-Security-Policy and renders the same standalone or inline.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imagegolf.contest.standings import RecordPoint
from imagegolf.web.format import exact_size, human_size

LOG_RATIO = 20.0
_YScale = Callable[[int], float]  # size → y pixel
_Box = tuple[float, float, float, float]  # left, top, right, bottom of a label
_CHAR_W, _TEXT_H = 6.6, 12.0  # an estimate of the 12 px sans-serif label's size
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_INK, _LINE, _GRID, _MUTED = "#1f2328", "#0a7d32", "#d0d7de", "#57606a"


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_w(self) -> float:
        return float(self.width - self.left - self.right)

    @property
    def plot_h(self) -> float:
        return float(self.height - self.top - self.bottom)


def esc(text: object) -> str:
    """Text safe in XML content and attribute values (characters XML cannot hold are dropped)."""
    return html.escape(_XML_ILLEGAL.sub("", str(text)), quote=True)


def size_label(size: int) -> str:
    return exact_size(size) if size < 100_000 else human_size(size)


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
    frame = _Frame(width, height, left=78, right=24, top=28 if title else 12, bottom=40)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{esc(title or 'Record timeline')}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        parts.append(
            f'<text x="{frame.left}" y="18" font-size="14" font-weight="bold" fill="{_INK}">'
            f"{esc(title)}</text>"
        )
    if not records:
        parts.append(_frame_box(frame))
        parts.append(
            f'<text x="{width / 2:.1f}" y="{frame.top + frame.plot_h / 2:.1f}" text-anchor="middle" '
            f'fill="{_MUTED}">no record yet: no accepted submission</text>'
        )
        return "\n".join([*parts, "</svg>"]) + "\n"
    points = [(r.at, r) for r in records]
    start, end = _time_range([t for t, _ in points], until)
    sizes = [r.size for r in records]
    use_log = scale == "log" or (scale == "auto" and max(sizes) / max(min(sizes), 1) > LOG_RATIO)
    y_of, ticks = _log_axis(sizes, frame) if use_log else _linear_axis(sizes, frame)
    span = (end - start).total_seconds()

    def x_of(moment: dt.datetime) -> float:
        return frame.left + (moment - start).total_seconds() / span * frame.plot_w

    parts += _y_grid(ticks, y_of, frame)
    parts += _x_grid(start, end, frame)
    parts.append(_frame_box(frame))
    parts.append(_step_path([(x_of(t), y_of(r.size)) for t, r in points], x_of(end)))
    taken: list[_Box] = []
    for moment, record in points:
        parts.append(_point(x_of(moment), y_of(record.size), record, frame, link, taken))
    axis = "bytes, log scale" if use_log else "bytes"
    parts.append(
        f'<text x="14" y="{frame.top + frame.plot_h / 2:.1f}" text-anchor="middle" fill="{_MUTED}" '
        f'transform="rotate(-90 14 {frame.top + frame.plot_h / 2:.1f})">{esc(axis)}</text>'
    )
    return "\n".join([*parts, "</svg>"]) + "\n"


def _time_range(moments: list[dt.datetime], until: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    start, last = min(moments), max(moments)
    span = (last - start).total_seconds()
    end = last + dt.timedelta(seconds=max(span * 0.12, 60.0))  # room for the last label
    if until:
        end = max(end, until)
    return start, end


def _log_axis(sizes: list[int], frame: _Frame) -> tuple[_YScale, list[int]]:
    low = math.floor(math.log10(max(min(sizes), 1)))
    high = max(math.ceil(math.log10(max(sizes))), low + 1)
    if 10**high == max(sizes):
        high += 1  # keep the top record off the frame's edge

    def y_of(size: int) -> float:
        fraction = (math.log10(max(size, 1)) - low) / (high - low)
        return frame.top + frame.plot_h * (1 - fraction)

    return y_of, [10**k for k in range(low, high + 1)]


def _linear_axis(sizes: list[int], frame: _Frame) -> tuple[_YScale, list[int]]:
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


def _y_grid(ticks: list[int], y_of: _YScale, frame: _Frame) -> list[str]:
    parts = []
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'stroke="{_GRID}"/>'
        )
        parts.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_MUTED}">'
            f"{esc(human_size(tick))}</text>"
        )
    return parts


def _x_grid(start: dt.datetime, end: dt.datetime, frame: _Frame) -> list[str]:
    span = (end - start).total_seconds()
    pattern = "%H:%M:%S" if span < 3600 else "%m-%d %H:%M" if span < 86400 * 30 else "%Y-%m-%d"
    parts = []
    for i in range(5):
        moment = start + dt.timedelta(seconds=span * i / 4)
        x = frame.left + frame.plot_w * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.height - frame.bottom}" x2="{x:.1f}" '
            f'y2="{frame.height - frame.bottom + 4}" stroke="{_MUTED}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{frame.height - frame.bottom + 18}" text-anchor="{anchor}" '
            f'fill="{_MUTED}">{esc(moment.astimezone(dt.UTC).strftime(pattern))}</text>'
        )
    parts.append(
        f'<text x="{frame.width - frame.right}" y="{frame.height - 6}" text-anchor="end" '
        f'fill="{_MUTED}">first seen (UTC)</text>'
    )
    return parts


def _frame_box(frame: _Frame) -> str:
    return (
        f'<rect x="{frame.left}" y="{frame.top}" width="{frame.plot_w:.1f}" height="{frame.plot_h:.1f}" '
        f'fill="none" stroke="{_MUTED}"/>'
    )


def _step_path(points: list[tuple[float, float]], x_end: float) -> str:
    (x0, y0), rest = points[0], points[1:]
    path = [f"M{x0:.1f},{y0:.1f}"]
    for x, y in rest:
        path.append(f"H{x:.1f}V{y:.1f}")
    path.append(f"H{x_end:.1f}")
    return f'<path class="steps" d="{"".join(path)}" fill="none" stroke="{_LINE}" stroke-width="2.5"/>'


def _place_label(
    x: float, y: float, label: str, frame: _Frame, taken: list[_Box]
) -> tuple[float, float, str]:
    """Where the label goes: above the step, else below it, else left of the point, else further
    off; the first spot that stays in the frame and overlaps no label placed before it."""
    width = _CHAR_W * len(label)
    spots = [(6, -7), (6, 16), (-6, -7), (-6, 16), (6, -21), (6, 30), (-6, -21), (-6, 30)]
    fallback: tuple[float, float, str] | None = None
    for dx, dy in spots:
        left = x + dx if dx > 0 else x + dx - width
        box = (left, y + dy - _TEXT_H, left + width, y + dy + 2)
        inside = frame.left <= box[0] and box[2] <= frame.width - frame.right and frame.top <= box[1]
        inside = inside and box[3] <= frame.height - frame.bottom
        spot = (x + dx, y + dy, "start" if dx > 0 else "end")
        if inside and not any(_overlap(box, other) for other in taken):
            taken.append(box)
            return spot
        if inside and fallback is None:
            fallback = spot
    return fallback or (x + 6, y - 7, "start")


def _overlap(a: _Box, b: _Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _point(x: float, y: float, record: RecordPoint, frame: _Frame, link: bool, taken: list[_Box]) -> str:
    label = f"{record.entrant} · {size_label(record.size)}"
    broke = f", broke {exact_size(record.previous)}" if record.previous is not None else ""
    tooltip = (
        f"{record.entrant}: {exact_size(record.size)} (tag {record.tag}, #{record.submission_id}{broke})"
    )
    tx, ty, anchor = _place_label(x, y, label, frame, taken)
    body = (
        f"<title>{esc(tooltip)}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{_LINE}" stroke="#ffffff" stroke-width="1.5"/>'
        f'<text class="holder" x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" fill="{_INK}" '
        'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
        f"{esc(label)}</text>"
    )
    if link:
        return f'<a href="/submissions/{record.submission_id}">{body}</a>'
    return f"<g>{body}</g>"
