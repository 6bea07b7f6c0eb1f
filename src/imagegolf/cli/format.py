"""Human sizes the way engines print them: base 1000, three significant digits."""

from __future__ import annotations


def human_size(n: int, *, space: bool = False) -> str:
    """``73B``, ``3.84kB``, ``73.9MB`` (docker's units.HumanSize); podman puts a space."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    value = float(n)
    unit = 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    number = f"{value:.3g}"
    return f"{number}{' ' if space else ''}{units[unit]}"
