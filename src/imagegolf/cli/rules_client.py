"""The entrant's side of ``GET /api/rules``: read a contest's rules, judge as its workers do, and
see a judgement on each of its boards (``imagegolf judge --rules``, ``imagegolf submit``).

The options are those of the contest's workers (contest/judging.py, ``judge_options``): the
phrase, the match rule, the runs, the platforms, the wall time and the cross-check, with the exit
status and the message's place left to the boards (exit 0 required, the message anywhere: the
judge records the facts each board reads, so one judgement serves every board).
"""

from __future__ import annotations

import argparse
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import requests

from imagegolf import __version__
from imagegolf.cli.context import Context
from imagegolf.cli.format import human_size
from imagegolf.errors import ImagegolfError, UsageError
from imagegolf.judge import Judgement, JudgeOptions, Verdict
from imagegolf.judge.boards import Board, OnBoard, on_board
from imagegolf.judge.engines import RunSpec
from imagegolf.judge.judged import JudgedData
from imagegolf.judge.matching import MatchMode
from imagegolf.judge.options import ExitRule, MessageRule
from imagegolf.platform import Platform

RULES_VERSION = 1  # the version of /api/rules this client reads
HTTP_TIMEOUT = (10.0, 30.0)  # connect, read: per request
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class ContestError(ImagegolfError):
    """The contest's address does not answer, or not as an imagegolf contest (exit 2: the
    address given is the input at fault, or the contest is down)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, transient: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.transient = transient  # the site did not answer: asking again later may do


@dataclass(frozen=True)
class Rules:
    """A contest's rules as ``/api/rules`` gives them (rules_version 1)."""

    url: str  # where they were read: …/api/rules
    site: str  # the contest's site, ending in "/": …/api/… and …/submissions/ID are under it
    contest: str
    registry: str
    repository: str
    repositories: str  # shared | per-entrant
    identity: str  # tag | registry-user
    entrant_pattern: str | None
    entrant_map: dict[str, str]
    phrase: str
    match: MatchMode
    metric: str
    platforms: tuple[Platform, ...]  # empty: the judge host's own
    runs: int
    timeout_s: float
    cross_check: bool
    window: dict[str, str | None]
    boards: tuple[Board, ...]
    push_to: str
    runtime: str = "runc"  # the OCI runtime the contest judges under (runsc: gVisor)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def per_entrant(self) -> bool:
        return self.repositories == "per-entrant"

    def options(self, jobs: int = 1) -> JudgeOptions:
        """The judge's options, as the contest's workers set them."""
        return JudgeOptions(
            phrase=self.phrase,
            match=self.match,
            runs=self.runs,
            platforms=self.platforms,
            spec=RunSpec(timeout_s=self.timeout_s, runtime=self.runtime),
            jobs=jobs,
            cross_check=self.cross_check,
            exit=ExitRule.ZERO,
            message=MessageRule.ANYWHERE,
        )

    def entrant_for(self, tag: str) -> str | None:
        """With identity ``tag``: whom a tag names (the map, then the pattern), as the contest reads it."""
        if tag in self.entrant_map:
            return self.entrant_map[tag]
        if self.entrant_pattern is None:
            return None
        found = re.fullmatch(self.entrant_pattern, tag)
        return found.group("entrant") if found else None

    def describe(self) -> str:
        platforms = ", ".join(map(str, self.platforms)) or "the judge host's own"
        checked = "" if self.cross_check else ", no cross-check"
        return (
            f"contest {self.contest!r}: phrase {self.phrase!r}, match {self.match.value}, "
            f"{self.runs} run{'s' if self.runs != 1 else ''} of at most {self.timeout_s:g} s{checked}; "
            f"platforms: {platforms}; boards: {', '.join(b.name for b in self.boards)}"
        )


def rules_url(text: str, flag: str) -> tuple[str, str]:
    """(the rules' URL, the site's URL ending in "/") from a contest's address: its page
    (``http://127.0.0.1:8000``), its rules page (``…/rules``) or ``…/api/rules`` itself."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"{flag} {text!r}: give the contest's address with http:// or https://",
            hint="e.g. http://127.0.0.1:8000, the page that shows the board",
        )
    path = parts.path.rstrip("/")
    for suffix in ("/api/rules", "/rules"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    site = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))
    return site + "api/rules", site


def open_session(args: argparse.Namespace, url: str) -> requests.Session:
    """An HTTP session to the contest's site: ``--ca-bundle`` and ``--insecure`` apply to it as to
    the registry; no proxy or ~/.netrc for a loopback address."""
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": f"imagegolf/{__version__}"})
    host = urllib.parse.urlsplit(url).hostname or ""
    session.trust_env = host not in _LOOPBACK
    if getattr(args, "ca_bundle", None):
        session.verify = args.ca_bundle
    elif getattr(args, "insecure", False):
        session.verify = False
    return session


def get_json(session: requests.Session, url: str, what: str) -> Any:
    """GET ``url`` as JSON; ContestError (exit 2) saying what went wrong, for a person."""
    try:
        response = session.get(url, timeout=HTTP_TIMEOUT)
    except requests.exceptions.SSLError as error:
        raise ContestError(
            f"cannot reach {what} at {url}: TLS failed ({_first_line(error)})",
            hint="--ca-bundle FILE trusts a private CA",
        ) from None
    except requests.RequestException as error:
        raise ContestError(
            f"cannot reach {what} at {url}: {_first_line(error)}",
            hint="is the address right, and the contest's server running?",
            transient=True,
        ) from None
    if response.status_code == 404:
        raise ContestError(
            f"{url} answered 404 Not Found: not an imagegolf contest's address, or one too old to "
            f"publish {what}",
            hint="give the address of the contest's page, e.g. http://127.0.0.1:8000",
        )
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise ContestError(
            f"{url} answered {response.status_code} with {kind}, not JSON: "
            "not an imagegolf contest's address",
            hint="give the address of the contest's page, e.g. http://127.0.0.1:8000",
        ) from None
    if response.status_code != 200:
        said = body.get("error") if isinstance(body, dict) else None
        raise ContestError(
            f"{url} answered {response.status_code}: {said or 'no reason given'}",
            transient=response.status_code in (429, 502, 503, 504),
        )
    return body


def _first_line(error: Exception) -> str:
    """What went wrong, without urllib3's wrapping: ``[Errno 111] Connection refused``."""
    text = str(error).strip()
    if isinstance(error, requests.exceptions.Timeout):
        return "no answer in time"
    found = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if found:
        return found.group(0).strip()
    if "Failed to resolve" in text or "Name or service not known" in text:
        return "its host name does not resolve"
    lines = text.splitlines()
    return lines[0][:300] if lines else type(error).__name__


def fetch_rules(args: argparse.Namespace, text: str, flag: str) -> tuple[Rules, requests.Session]:
    """The contest's rules, read from its site, and the session that read them."""
    url, site = rules_url(text, flag)
    session = open_session(args, url)
    return parse_rules(get_json(session, url, "the contest's rules"), url, site), session


def parse_rules(doc: Any, url: str, site: str) -> Rules:
    """Rules from ``/api/rules``'s answer; ContestError for anything else."""
    if not isinstance(doc, dict) or "rules_version" not in doc:
        raise ContestError(
            f"{url} answered JSON without a rules_version: not an imagegolf contest's rules",
            hint="give the address of the contest's page, e.g. http://127.0.0.1:8000",
        )
    if doc["rules_version"] != RULES_VERSION:
        raise ContestError(
            f"the contest publishes rules_version {doc['rules_version']!r}; this imagegolf "
            f"({__version__}) reads version {RULES_VERSION} only",
            hint="upgrade imagegolf",
        )
    try:
        limits, window = doc["limits"], doc["window"]
        boards = tuple(
            Board(
                str(b["name"]),
                str(b["metric"]),
                MessageRule(b["message"]),
                ExitRule(b["exit"]),
                tuple(Platform.parse(str(p)) for p in b.get("platforms") or ()),
                str(b.get("title") or ""),
            )
            for b in doc["boards"]
        )
        return Rules(
            url=url,
            site=site,
            contest=str(doc["contest"]),
            registry=str(doc["registry"]),
            repository=str(doc["repository"]),
            repositories=_one_of(doc["repositories"], ("shared", "per-entrant"), "repositories"),
            identity=_one_of(doc["identity"], ("tag", "registry-user"), "identity"),
            entrant_pattern=None if doc.get("entrant_pattern") is None else str(doc["entrant_pattern"]),
            entrant_map={str(k): str(v) for k, v in (doc.get("entrant_map") or {}).items()},
            phrase=str(doc["phrase"]),
            match=MatchMode(doc["match"]),
            metric=str(doc.get("metric") or (boards[0].metric if boards else "docker_classic")),
            platforms=tuple(Platform.parse(str(p)) for p in doc["platforms"]),
            runs=int(limits["runs"]),
            timeout_s=float(limits["timeout_s"]),
            cross_check=bool(limits["cross_check"]),
            window={k: None if v is None else str(v) for k, v in window.items()},
            boards=boards,
            push_to=str(doc["push_to"]),
            runtime=str(limits.get("runtime") or "runc"),  # absent from servers before runtimes
            raw=doc,
        )
    except (KeyError, TypeError, ValueError, AttributeError, ImagegolfError) as error:
        raise ContestError(f"the rules at {url} are malformed ({type(error).__name__}: {error})") from None


def _one_of(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} {value!r}: this imagegolf knows {', '.join(allowed)}")
    return str(value)


# A judgement on the contest's boards


def judged_data(judgement: Judgement) -> JudgedData:
    """The judgement as the contest records it (contest/judging.py, ``event_data``)."""
    data = judgement.to_json()
    data.pop("source")
    data["manifest_digest"] = data.pop("digest") or None
    return JudgedData.from_json(data)


def on_boards(rules: Rules, judgement: Judgement) -> list[tuple[Board, OnBoard]]:

    judged = judged_data(judgement)
    return [(board, on_board(board, judged)) for board in rules.boards]


def accepted_somewhere(rows: list[tuple[Board, OnBoard]]) -> bool:

    return any(seen.verdict is Verdict.ACCEPTED for _board, seen in rows)


def boards_json(rows: list[tuple[Board, OnBoard]]) -> dict[str, dict[str, Any]]:
    return {
        board.name: {
            "verdict": seen.verdict.value,
            "reason": seen.reason,
            "size": seen.size,
            "metric": board.metric,
        }
        for board, seen in rows
    }


def size_text(size: int | None) -> str:
    return "-" if size is None else f"{human_size(size)} ({size})"


def print_boards(ctx: Context, judgement: Judgement, rows: list[tuple[Board, OnBoard]]) -> None:
    """One line per board: its name, the verdict there, the size by its metric, and why, when the
    board's reason is not the judge's own (printed already)."""
    ctx.out(f"{judgement.source} on the contest's boards:")
    name_width = max((len(board.name) for board, _ in rows), default=0)
    for board, seen in rows:
        size = size_text(seen.size)
        line = f"  {board.name:<{name_width}}  {seen.verdict.value:<14}  {size:>16}  {board.metric}"
        if seen.reason != judgement.reason:
            line += f"  ({seen.reason})"
        ctx.out(line)
