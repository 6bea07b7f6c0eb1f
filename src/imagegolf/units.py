"""Human sizes the way engines print them: base 1000, three significant digits."""

from __future__ import annotations

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def human_size(n: int, *, space: bool = False) -> str:
    """``73B``, ``3.84kB``, ``73.9MB`` (docker's units.HumanSize); podman puts a space."""
    value, unit = float(n), 0
    while value >= 1000 and unit < len(_UNITS) - 1:
        value /= 1000
        unit += 1
    return f"{value:.3g}{' ' if space else ''}{_UNITS[unit]}"
