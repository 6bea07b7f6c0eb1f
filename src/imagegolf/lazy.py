"""Package names that load their module on first use (PEP 562 module ``__getattr__``).

A command imports only what it runs: ``imagegolf build`` needs the OCI writers, not the readers,
validators and index resolution, and start-up is most of what a build or a push costs
(bench/cli_speed.py). A package lists where each of its names lives, keeps the same imports under
``TYPE_CHECKING`` for type checkers, and sets ``__getattr__ = lazy.exports(__name__, HOMES)``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``homes`` maps each name to the module that defines it."""

    def load(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)  # once: later lookups are plain attribute reads
        return value

    return load
