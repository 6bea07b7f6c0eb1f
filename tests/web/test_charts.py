"""The charts as SVG (web/svg_common.py, progress_svg.py, entrant_svg.py): the log scale of sizes
is monotonic with readable ticks (B, KiB, MiB), the lines step down, every entrant's name is
escaped text (``<script>``, right-to-left marks, 200 characters), and each chart parses as XML
with its accessible name and description."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from imagegolf.web.entrant_svg import entrant_svg
from imagegolf.web.progress_svg import Point, Series, improvements, progress_svg
from imagegolf.web.svg_common import binary_label, log_axis, name_label
from imagegolf.web.timeline_svg import timeline_svg
from tests.web import seed
from tests.web.test_timeline_svg import LADDER

SVG = "{http://www.w3.org/2000/svg}"
RTL = "\u202eevil\u200f"  # RIGHT-TO-LEFT OVERRIDE, then RIGHT-TO-LEFT MARK
LONG = "W" * 200
HOSTILE = (seed.XSS, RTL, LONG, "bell\x07\x00")


def p(minutes: float, size: int, n: int) -> Point:
    return Point(seed.moment(minutes), size, n)


def texts(root: ET.Element, css: str | None = None) -> list[str]:
    found = root.iter(f"{SVG}text")
    return ["".join(t.itertext()) for t in found if css is None or t.get("class") == css]


def labelled(svg: str) -> tuple[ET.Element, str, str]:
    """The parsed chart, its accessible name (the <title> aria-labelledby names) and description
    (the <desc> aria-describedby names)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    title, desc = by_id[root.get("aria-labelledby")], by_id[root.get("aria-describedby")]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    return root, "".join(title.itertext()), "".join(desc.itertext())


# the log scale


@pytest.mark.parametrize(
    "sizes",
    [[50, 74_492_693], [71], [71, 73], [0, 1], [288, 17_808], [1, 2**40], [123_456, 123_457]],
)
def test_the_log_scale_is_monotonic_and_holds_every_size(sizes: list[int]) -> None:
    axis = log_axis(sizes, 10, 200)
    ladder = sorted(
        {max(1, round(min(sizes) * (max(sizes) / max(min(sizes), 1)) ** (k / 40))) for k in range(41)}
    )
    ys = [axis.y(s) for s in ladder]
    assert all(a > b for a, b in itertools.pairwise(ys)), "a larger size is higher up"
    assert all(10 <= y <= 210 for y in ys), "inside the plot"
    assert 3 <= len(axis.ticks) <= 7
    assert axis.high - axis.low >= 2  # at least a factor of 4 tall, even for one size
    # Equal ratios are equal distances: it is a log scale.
    assert math.isclose(axis.y(64) - axis.y(128), axis.y(1024) - axis.y(2048))


def test_ticks_are_powers_of_two_in_b_kib_mib() -> None:
    assert [binary_label(e) for e in (0, 6, 10, 15, 20, 25, 30)] == [
        "1 B", "64 B", "1 KiB", "32 KiB", "1 MiB", "32 MiB", "1 GiB",
    ]  # fmt: skip
    assert [binary_label(e) for e in log_axis([50, 74_492_693], 0, 100).ticks] == [
        "32 B", "1 KiB", "32 KiB", "1 MiB", "32 MiB",
    ]  # fmt: skip
    root = ET.fromstring(timeline_svg(LADDER, scale="log"))  # the record timeline's axis too
    ticks = texts(root, "tick")
    assert ticks and all(re.fullmatch(r"\d+ (B|KiB|MiB|GiB)", t) for t in ticks), ticks


# names


def test_a_name_label_is_cut_and_isolated() -> None:
    assert name_label("alice") == "alice"
    assert name_label(LONG) == "W" * 31 + "…"
    assert name_label(RTL) == "\u2068" + RTL + "\u2069"  # FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE
    assert name_label("שלום") == "\u2068שלום\u2069"
    assert name_label("bell\x07\x00") == "bell"


# the leaders' progress


LINES = [
    Series(1, "pjones", (p(2, 1_982_256, 2), p(9, 50, 9))),
    Series(2, "dave", (p(6.2, 8_344, 6), p(6.6, 412, 7), p(7, 71, 8))),
    Series(3, "reschenburg", (p(1, 74_492_693, 1), p(6, 288, 5))),
    Series(4, "bob", (p(5, 17_808, 4),)),
]


def path_ys(d: str) -> list[float]:
    """The y of each horizontal run of a step path: M x,y then H x V y … H x."""
    first = float(d.split(",")[1].split("H")[0])
    return [first] + [float(v) for v in re.findall(r"V(-?[\d.]+)", d)]


def test_each_line_steps_down_at_each_improvement() -> None:
    svg = progress_svg(LINES, board="Open", metric="docker_classic")
    root, title, desc = labelled(svg)
    assert title == "Top 4 on Open: their best by docker_classic over time"
    assert "2. dave: from 8,344 B to 71 B in 2 improvements" in desc
    groups = list(root.iter(f"{SVG}g"))
    lines = {g.get("data-place"): g for g in groups if g.get("class") == "series"}
    assert sorted(lines) == ["1", "2", "3", "4"]
    for series in LINES:
        group = lines[str(series.place)]
        path = group.find(f"{SVG}path")
        assert path is not None
        ys = path_ys(path.get("d") or "")
        assert len(ys) == len(series.steps)  # one horizontal run per step
        assert all(a < b for a, b in itertools.pairwise(ys)), "each step is lower on screen"
        links = [a.get("href") for a in group.iter(f"{SVG}a")]
        assert links == [f"/submissions/{s.submission_id}" for s in series.steps]
    legend = texts(root, "who")
    assert legend == [
        "1. pjones · 50 B, 1 step down",
        "2. dave · 71 B, 2 steps down",
        "3. reschenburg · 288 B, 1 step down",
        "4. bob · 17,808 B",
    ]
    assert sorted(texts(root, "end")) == ["1", "2", "3", "4"]  # each line's place at its end


def test_no_one_yet_is_a_chart_saying_so() -> None:
    root, _title, desc = labelled(progress_svg([], board="Classic", metric="docker_classic"))
    assert any("no one on this board yet" in t for t in texts(root))
    assert desc == "No entrant is on the Classic board yet."


def test_hostile_names_are_text_in_the_progress_chart() -> None:
    lines = [Series(n + 1, name, (p(n, 1000 - n, n),)) for n, name in enumerate(HOSTILE)]
    svg = progress_svg(lines, board="<b>x</b>", metric="pull_bytes")
    assert "<script>" not in svg and "<b>" not in svg and "&lt;script&gt;" in svg
    root, title, desc = labelled(svg)  # parses, though a name held \x07 and \x00
    legend = texts(root, "who")
    assert legend[0].startswith(f"1. {seed.XSS} · ")
    assert legend[1].startswith(f"2. \u2068{RTL}\u2069 · ")  # isolated: it cannot reorder the rest
    assert legend[2].startswith("3. " + "W" * 39 + "… · ")  # cut in the legend …
    assert LONG in desc and title == "Top 4 on <b>x</b>: their best by pull_bytes over time"  # … whole here
    tips = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert any(LONG in t for t in tips)  # and in the marker's tooltip


def test_improvements_keep_each_new_best() -> None:
    points = [p(1, 500, 1), p(2, 600, 2), p(3, 400, 3), p(4, 400, 4), p(5, 90, 5)]
    assert [x.submission_id for x in improvements(points)] == [1, 3, 5]
    assert [x.submission_id for x in improvements(reversed(points))] == [1, 3, 5]  # by time, not order


# an entrant's chart


def test_the_entrants_chart_rings_their_best() -> None:
    points = [p(1, 8_344, 6), p(2, 412, 7), p(3, 9_000, 10), p(4, 71, 8)]
    svg = entrant_svg(points, points[3], entrant="dave", board="Open", metric="docker_classic")
    root, title, desc = labelled(svg)
    assert title == "dave on Open: accepted sizes by docker_classic"
    assert desc.startswith("dave on Open: 4 accepted submissions, the first 8,344 B; their best 71 B (#8,")
    best = [a for a in root.iter(f"{SVG}a") if a.get("class") == "best"]
    assert [a.get("href") for a in best] == ["/submissions/8"]
    assert texts(root, "best-label") == ["best · 71 B"]
    assert len([c for c in root.iter(f"{SVG}circle") if c.get("class") == "point"]) == 3
    path = next(e for e in root.iter(f"{SVG}path") if e.get("class") == "best-so-far")
    ys = path_ys(path.get("d") or "")
    assert len(ys) == 3 and ys[0] < ys[1] < ys[2]  # 8,344 → 412 → 71: the 9,000 is no step


def test_the_best_is_drawn_when_the_page_does_not_hold_it() -> None:
    best = p(90, 60, 99)
    root, _, desc = labelled(entrant_svg([p(1, 500, 1)], best, entrant="a", board="B", metric="m"))
    assert [a.get("href") for a in root.iter(f"{SVG}a") if a.get("class") == "best"] == ["/submissions/99"]
    assert "2 accepted submissions" in desc


def test_an_entrant_with_nothing_accepted_gets_an_empty_chart() -> None:
    root, _, desc = labelled(entrant_svg([], None, entrant="carol", board="Classic", metric="m"))
    assert any("no accepted submission on this board yet" in t for t in texts(root))
    assert desc == "carol has no accepted submission on the Classic board yet."


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_text_in_the_entrants_chart(name: str) -> None:
    svg = entrant_svg([p(1, 73, 1)], p(1, 73, 1), entrant=name, board="Open", metric="m", ident="e-open")
    assert "<script>" not in svg
    root, title, desc = labelled(svg)
    assert (root.get("aria-labelledby"), root.get("aria-describedby")) == ("e-open-title", "e-open-desc")
    clean = name.replace("\x07", "").replace("\x00", "")
    assert desc.startswith(f"{clean} on Open: 1 accepted submission")
    assert len(title) < 100  # the name is cut in the title the chart shows
