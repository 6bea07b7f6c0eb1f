"""What the server-rendered charts share: escaping, entrant names as labels, the frame, the
time axis and the log axis of sizes. Pure: values in, SVG text out.

Every chart is an ``<svg>`` document (also valid inline in HTML) with presentation attributes
only, no ``style`` and no script: it obeys the site's strict Content-Security-Policy and renders
the same standalone or inline. Every text is escaped by :func:`esc`; an entrant's name is also
cut to a label's length and, when it holds right-to-left or bidirectional control characters,
isolated (U+2068 … U+2069) so that it cannot reorder the text around it.

Sizes are drawn on a log scale: the contests' sizes span six orders of magnitude (the seed's
ladder went from 73.9 MB to 73 B). The ticks are powers of two labelled in B, KiB, MiB and GiB
(``64 B``, ``1 KiB``, ``32 MiB``), a readable handful whatever the span.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imagegolf.web.format import exact_size, human_size

YScale = Callable[[int], float]  # size → y pixel
Box = tuple[float, float, float, float]  # left, top, right, bottom of a label
CHAR_W, TEXT_H = 6.6, 12.0  # an estimate of the 12 px sans-serif label's size
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
INK, LINE, GRID, MUTED, GOLD = "#1f2328", "#0a7d32", "#d0d7de", "#57606a", "#b35900"
# Okabe and Ito's palette (told apart by the colour-blind too), each with its own dash pattern.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 4", "12 3", "1 2", "6 2 1 2")
NAME_CHARS = 32  # an entrant's name on a label: longer ones are cut (the tooltip has it whole)
# Bidirectional classes that can reorder the text around a name: right-to-left letters and
# digits, and the embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).
_BIDI = frozenset({"R", "AL", "AN", "RLE", "RLO", "LRE", "LRO", "PDF", "RLI", "LRI", "FSI", "PDI"})
_FSI, _PDI = "\u2068", "\u2069"
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def esc(text: object) -> str:
    """Text safe in XML content and attribute values (characters XML cannot hold are dropped)."""
    return html.escape(XML_ILLEGAL.sub("", str(text)), quote=True)


def name_label(name: str, limit: int = NAME_CHARS) -> str:
    """An entrant's name for a label (not yet escaped): at most ``limit`` characters (then "…"),
    isolated when it holds right-to-left or bidi control characters."""
    text = XML_ILLEGAL.sub("", name)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if any(unicodedata.bidirectional(c) in _BIDI for c in text):
        return f"{_FSI}{text}{_PDI}"
    return text


def size_label(size: int) -> str:
    """A size on a point's label: exact below 100 kB (golf is won by single bytes), else human."""
    return exact_size(size) if size < 100_000 else human_size(size)


def binary_label(exponent: int) -> str:
    """2**exponent bytes as a tick says it: ``64 B``, ``1 KiB``, ``32 MiB``."""
    unit = min(max(exponent, 0) // 10, len(_UNITS) - 1)
    return f"{2 ** (exponent - 10 * unit)} {_UNITS[unit]}"


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int  # below the plot: the time axis (and whatever a chart puts under it)

    @property
    def plot_w(self) -> float:
        return float(self.width - self.left - self.right)

    @property
    def plot_h(self) -> float:
        return float(self.height - self.top - self.bottom)

    @property
    def plot_bottom(self) -> float:
        return self.top + self.plot_h


@dataclass(frozen=True)
class LogAxis:
    """Sizes on a log scale between 2**low and 2**high bytes, ticks every ``step`` powers of two."""

    low: int
    high: int
    step: int
    top: float
    height: float

    def y(self, size: int) -> float:
        fraction = (math.log2(max(size, 1)) - self.low) / (self.high - self.low)
        return self.top + self.height * (1 - fraction)

    @property
    def ticks(self) -> list[int]:
        """The exponents of the ticks, inside the axis."""
        first = -(-self.low // self.step) * self.step
        return list(range(first, self.high + 1, self.step))


def log_axis(sizes: Sequence[int], top: float, height: float) -> LogAxis:
    """A log axis holding every size with room above and below, at least a factor of 4 tall,
    with 3 to 7 ticks (every 1, 2, 5, 10 or 20 powers of two)."""
    small, large = math.log2(max(min(sizes), 1)), math.log2(max(max(sizes), 1))
    low, high = math.floor(small - 0.3), math.ceil(large + 0.3)
    if high - low < 2:
        low -= 1
    low = max(low, 0)
    high = max(high, low + 2)
    step = next(s for s in (1, 2, 5, 10, 20) if (high - low) / s <= 6)
    return LogAxis(low, high, step, top, height)


def y_grid(axis: LogAxis, frame: Frame) -> list[str]:
    parts = []
    for exponent in axis.ticks:
        y = axis.y(2**exponent)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        parts.append(
            f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{esc(binary_label(exponent))}</text>"
        )
    return parts


def axis_title(text: str, frame: Frame) -> str:
    middle = frame.top + frame.plot_h / 2
    return (
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" fill="{MUTED}" '
        f'transform="rotate(-90 14 {middle:.1f})">{esc(text)}</text>'
    )


def time_range(
    moments: Sequence[dt.datetime], until: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """From the first moment to a little past the last (room for its label: an eighth of the
    span, a minute for a single moment), or to ``until``."""
    start, last = min(moments), max(moments)
    span = (last - start).total_seconds()
    end = last + dt.timedelta(seconds=span * 0.12 if span > 0 else 60.0)
    if until:
        end = max(end, until)
    return start, end


def x_scale(start: dt.datetime, end: dt.datetime, frame: Frame) -> Callable[[dt.datetime], float]:
    span = (end - start).total_seconds() or 1.0

    def x_of(moment: dt.datetime) -> float:
        return frame.left + (moment - start).total_seconds() / span * frame.plot_w

    return x_of


def x_grid(start: dt.datetime, end: dt.datetime, frame: Frame) -> list[str]:
    span = (end - start).total_seconds()
    pattern = "%H:%M:%S" if span < 3600 else "%m-%d %H:%M" if span < 86400 * 30 else "%Y-%m-%d"
    bottom = frame.plot_bottom
    parts = []
    for i in range(5):
        moment = start + dt.timedelta(seconds=span * i / 4)
        x = frame.left + frame.plot_w * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" stroke="{MUTED}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 18:.1f}" text-anchor="{anchor}" '
            f'fill="{MUTED}">{esc(moment.astimezone(dt.UTC).strftime(pattern))}</text>'
        )
    parts.append(
        f'<text x="{frame.width - frame.right}" y="{bottom + 34:.1f}" text-anchor="end" '
        f'fill="{MUTED}">first seen (UTC)</text>'
    )
    return parts


def frame_box(frame: Frame) -> str:
    return (
        f'<rect x="{frame.left}" y="{frame.top}" width="{frame.plot_w:.1f}" height="{frame.plot_h:.1f}" '
        f'fill="none" stroke="{MUTED}"/>'
    )


def open_svg(
    width: int, height: int, css_class: str, title: str, desc: str = "", ident: str = ""
) -> list[str]:
    """The ``<svg>`` element's opening, its accessible name (``<title>``) and description
    (``<desc>``, tied by aria-labelledby and aria-describedby), and a white background.
    ``ident``: a prefix for their ids (unique on the page when several charts are inline)."""
    labelled = ""
    if ident:
        labelled = f' aria-labelledby="{esc(ident)}-title"'
        labelled += f' aria-describedby="{esc(ident)}-desc"' if desc else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img"{labelled} font-family="sans-serif" font-size="12">',
        f"<title{_id(ident, 'title')}>{esc(title)}</title>",
    ]
    if desc:
        parts.append(f"<desc{_id(ident, 'desc')}>{esc(desc)}</desc>")
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    return parts


def _id(ident: str, what: str) -> str:
    return f' id="{esc(ident)}-{what}"' if ident else ""


def place_label(x: float, y: float, label: str, frame: Frame, taken: list[Box]) -> tuple[float, float, str]:
    """Where a point's label goes: above the line, else below it, else left of the point, else
    further off; the first spot that stays in the plot and overlaps no label placed before it."""
    width = CHAR_W * len(label)
    spots = [(6, -7), (6, 16), (-6, -7), (-6, 16), (6, -21), (6, 30), (-6, -21), (-6, 30)]
    fallback: tuple[float, float, str] | None = None
    for dx, dy in spots:
        left = x + dx if dx > 0 else x + dx - width
        box = (left, y + dy - TEXT_H, left + width, y + dy + 2)
        inside = frame.left <= box[0] and box[2] <= frame.width - frame.right and frame.top <= box[1]
        inside = inside and box[3] <= frame.plot_bottom
        spot = (x + dx, y + dy, "start" if dx > 0 else "end")
        if inside and not any(_overlap(box, other) for other in taken):
            taken.append(box)
            return spot
        if inside and fallback is None:
            fallback = spot
    return fallback or (x + 6, y - 7, "start")


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def empty_note(text: str, frame: Frame) -> str:
    return (
        f'<text class="empty" x="{frame.width / 2:.1f}" y="{frame.top + frame.plot_h / 2:.1f}" '
        f'text-anchor="middle" fill="{MUTED}">{esc(text)}</text>'
    )


__all__ = [
    "DASHES",
    "GOLD",
    "GRID",
    "INK",
    "LINE",
    "MUTED",
    "PALETTE",
    "Box",
    "Frame",
    "LogAxis",
    "YScale",
    "axis_title",
    "binary_label",
    "empty_note",
    "esc",
    "frame_box",
    "log_axis",
    "name_label",
    "open_svg",
    "place_label",
    "size_label",
    "time_range",
    "x_grid",
    "x_scale",
    "y_grid",
]  # fmt: skip
