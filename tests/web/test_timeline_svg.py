"""web/timeline_svg.py: a well-formed SVG for 0, 1 or many records, every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from imagegolf.contest.standings import RecordPoint
from imagegolf.digest import Digest
from imagegolf.web.timeline_svg import timeline_svg
from tests.web import seed

SVG = "{http://www.w3.org/2000/svg}"


def point(entrant: str, size: int, minutes: float, previous: int | None = None, n: int = 1) -> RecordPoint:
    digest = Digest.parse(seed.digest(entrant))
    return RecordPoint(seed.moment(minutes), entrant, size, n, digest, entrant, previous)


LADDER = [
    point("ubuntu", 73_900_000, 0),
    point("alpine <&>", 5_600_000, 30, 73_900_000, 2),
    point("busybox", 1_240_000, 90, 5_600_000, 3),
    point("static-c", 9_000, 200, 1_240_000, 4),
    point("nasm", 120, 600, 9_000, 5),
    point(seed.XSS, 73, 2000, 120, 6),
]


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_no_record_is_a_chart_saying_so() -> None:
    assert any("no record yet" in t for t in texts(timeline_svg([])))


def test_one_record_is_one_labelled_step() -> None:
    svg = timeline_svg([point("alice", 73, 0)])
    assert "alice · 73 B" in texts(svg)
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/submissions/1"]


@pytest.mark.parametrize("scale", ["auto", "log", "linear"])
def test_many_records_each_step_labelled_with_holder_and_size(scale: str) -> None:
    svg = timeline_svg(LADDER, scale=scale)
    labels = texts(svg)
    for record in LADDER:
        assert any(t.startswith(f"{record.entrant} · ") for t in labels), record.entrant
    assert "nasm · 120 B" in labels and "ubuntu · 73.9MB" in labels
    assert len(list(ET.fromstring(svg).iter(f"{SVG}circle"))) == len(LADDER)
    assert ("bytes, log scale" in labels) == (scale != "linear")


def test_text_is_escaped_not_markup() -> None:
    svg = timeline_svg(LADDER, title="<b>golf</b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "alpine &lt;&amp;&gt;" in svg
    assert ET.fromstring(svg).find(f"{SVG}title").text == "<b>golf</b>"  # type: ignore[union-attr]


def test_characters_xml_cannot_hold_are_dropped() -> None:
    texts(timeline_svg([point("bell\x07\x00", 73, 0)]))  # parses


def test_scale_is_checked() -> None:
    with pytest.raises(ValueError):
        timeline_svg([], scale="cubic")


def test_the_line_runs_until_a_given_time() -> None:
    short = timeline_svg([point("alice", 73, 0)])
    longer = timeline_svg([point("alice", 73, 0)], until=seed.moment(60 * 24))
    assert short != longer
    ET.fromstring(longer)
