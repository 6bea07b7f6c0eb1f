"""Human sizes for the terminal (imagegolf.units, shared with the web pages)."""

from __future__ import annotations

from imagegolf.units import human_size

__all__ = ["human_size"]
