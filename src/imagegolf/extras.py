"""The optional extras and the modules each one installs, so that a command whose extra is missing
says which one to install (``pip install 'imagegolf[contest]'``) instead of failing with a traceback.

The core dependencies (pyproject.toml's ``dependencies``) are what the entrant's commands need:
build, push, pull, inspect, explain and run. Each extra below is one of pyproject.toml's
``[project.optional-dependencies]``; tests/test_extras.py checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum


class Extra(Enum):
    JUDGE = "judge"  # judge's verdict table (the docker SDK judging runs on is core)
    WEB = "web"  # the contest's page, its API and the registry's token server
    CONTEST = "contest"  # running a contest: the judge, the web, PostgreSQL, accounts, tokens
    LADDER = "ladder"  # the ladder's charts


# The one table: each top-level module imagegolf imports that only an extra installs (directly, or
# as a dependency of a package the extra lists: starlette comes with fastapi, h11 with uvicorn,
# markupsafe with jinja2).
EXTRA_OF_MODULE: Mapping[str, Extra] = {
    "rich": Extra.JUDGE,
    "fastapi": Extra.WEB,
    "starlette": Extra.WEB,
    "uvicorn": Extra.WEB,
    "h11": Extra.WEB,
    "jinja2": Extra.WEB,
    "markupsafe": Extra.WEB,
    "psycopg": Extra.CONTEST,
    "bcrypt": Extra.CONTEST,
    "jwt": Extra.CONTEST,
    "cryptography": Extra.CONTEST,
    "matplotlib": Extra.LADDER,
}

# An extra that installs others too (pyproject.toml: contest = ["imagegolf[judge,web]", …]).
INCLUDES: Mapping[Extra, tuple[Extra, ...]] = {Extra.CONTEST: (Extra.JUDGE, Extra.WEB)}


def closure(extra: Extra) -> frozenset[Extra]:
    """The extra and every extra it installs."""
    return frozenset({extra}).union(*(closure(inner) for inner in INCLUDES.get(extra, ())))


def modules(extra: Extra) -> frozenset[str]:
    """The top-level modules that installing ``extra`` provides."""
    extras = closure(extra)
    return frozenset(module for module, owner in EXTRA_OF_MODULE.items() if owner in extras)


def missing_modules(extras: Iterable[Extra]) -> tuple[str, ...]:
    """The modules of ``extras`` that cannot be imported here, sorted (a finder's look-up, no import)."""
    wanted = set().union(*(modules(extra) for extra in extras))
    return tuple(sorted(module for module in wanted if not _importable(module)))


def _importable(module: str) -> bool:
    import importlib.util  # only for a command that needs an extra: `build` starts without it

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses the module
        return False


def extra_of(module: str) -> Extra | None:
    """The extra that installs ``module`` (a dotted name: its top level counts), or None for the rest."""
    return EXTRA_OF_MODULE.get(module.partition(".")[0])


def install_message(command: str, extras: Iterable[Extra], module: str) -> str:
    """``'imagegolf serve' needs the contest extra (module fastapi is missing): pip install …``."""
    names = [extra.value for extra in extras]
    which = (
        f"the {names[0]} extra" if len(names) == 1 else f"the {', '.join(names[:-1])} and {names[-1]} extras"
    )
    return (
        f"'imagegolf {command}' needs {which} (module {module.partition('.')[0]} is missing): "
        f"pip install 'imagegolf[{','.join(names)}]'"
    )
