"""The ladder as a chart: our size beside the post's for each rung, log scale (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from imagegolf.errors import UsageError
from imagegolf.ladder.run import RungResult
from imagegolf.ladder.strategy import START_FAILED

FORMATS = (".png", ".svg")
OURS = "#1f77b4"
POST = "#ff7f0e"


def write_chart(
    results: Sequence[RungResult], path: Path, *, label: Callable[[int], str], title: str
) -> Path:
    """Write a PNG or SVG bar chart; ``label`` prints a size (``73B``, ``1.22MB``)."""
    if path.suffix.lower() not in FORMATS:
        raise UsageError(
            f"chart file {path}: a chart is written as .png or .svg", hint="name it *.png or *.svg"
        )
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "imagegolf-ladder"  # stable ids: the same SVG every run
    from matplotlib import pyplot

    rows = [r for r in results if r.metrics is not None or r.strategy.post is not None]
    width = 0.4
    figure, axes = pyplot.subplots(figsize=(max(8.0, 1.0 * len(rows) + 2), 6.5), layout="constrained")
    for index, row in enumerate(rows):
        ours = row.metrics.docker_classic if row.metrics else None
        post = row.strategy.post.size if row.strategy.post else None
        for offset, size, color in ((-width / 2, ours, OURS), (width / 2, post, POST)):
            if size:
                bar = axes.bar(index + offset, size, width, color=color)
                axes.bar_label(bar, labels=[label(size)], rotation=90, padding=3, fontsize=8)
        if row.verdict not in ("ACCEPTED", "BUILT") and ours:
            # rotated inside our bar: the verdict of a rung that did not print the message
            axes.annotate(row.verdict, (index - width / 2, ours), xytext=(0, -6), textcoords="offset points",
                          rotation=90, ha="center", va="top", fontsize=8, color="white")  # fmt: skip
        if post is None and row.strategy.expected == START_FAILED:
            axes.annotate("fails", (index + width / 2, 12), rotation=90, ha="center", va="bottom",
                          fontsize=8, color=POST)  # fmt: skip
    axes.set_yscale("log")
    axes.set_ylim(10, 10**9.5)
    axes.set_xticks(range(len(rows)), [r.name for r in rows], rotation=35, ha="right")
    axes.set_ylabel("image size in bytes (docker images SIZE), log scale")
    axes.set_xlabel("rung of the ladder")
    axes.set_title(title)
    axes.bar(0, 0, color=OURS, label="imagegolf ladder (measured here)")
    axes.bar(0, 0, color=POST, label="the seed's post")
    axes.legend(loc="upper right")
    axes.grid(axis="y", which="major", alpha=0.3)
    metadata = {"Date": None} if path.suffix.lower() == ".svg" else {"Software": None}
    figure.savefig(path, metadata=metadata, dpi=110)
    pyplot.close(figure)
    return path
