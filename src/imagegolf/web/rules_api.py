"""What an entrant's own client needs: the rules to judge by, and where its push went.

``GET /api/rules`` is everything ``imagegolf judge --rules`` and ``imagegolf submit`` need to
judge an image exactly as the contest's workers will (contest/judging.py, ``judge_options``:
phrase, match, runs, platforms, wall time, cross-check; exit status and message place left to
the boards, so one judgement serves every board) and where to push it. Public; it changes only
when the settings do, so it carries an ETag of its content and answers 304 to a client holding it.

``GET /api/digests/{digest}`` finds the submissions of one pushed digest (optionally of one tag
or entrant): the client pushed a digest and waits for the verdict on it. It names the
submissions only; their results are at ``/api/submissions/{id}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from imagegolf.contest import Contest, SubmissionNotFound
from imagegolf.contest import reads as contest_reads
from imagegolf.contest.model import Identity
from imagegolf.db import Database
from imagegolf.db.clock import format_time
from imagegolf.judge.boards import Board, default_boards
from imagegolf.web.errors import WebError
from imagegolf.web.site import Site, cache_headers, not_modified

RULES_VERSION = 1  # a client refuses rules of a version it does not know
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
LOOKUP_LIMIT = 100  # submissions of one digest named in one answer


def contest_boards(db: Database, contest: Contest) -> tuple[Board, ...]:
    """The contest's boards: its own, read from the database where this imagegolf keeps them
    per contest (``contest.reads.boards``), else the boards ``contest init`` creates."""
    read_boards = getattr(contest_reads, "boards", None)
    if read_boards is not None:
        return tuple(read_boards(db, contest))
    return default_boards(contest.metric)


def push_to(contest: Contest) -> str:
    """Where an entrant pushes, with the parts they fill in: ``<tag>``, and ``<you>`` (their
    account) for per-entrant repositories."""
    if contest.per_entrant:
        return f"{contest.registry}/{contest.entrant_repository('<you>')}:<tag>"
    return f"{contest.watched}:<tag>"


def rules_json(contest: Contest, boards: tuple[Board, ...]) -> dict[str, Any]:
    return {
        "rules_version": RULES_VERSION,
        "contest": contest.name,
        "registry": contest.registry,
        "repository": contest.repository,
        "repositories": contest.repositories.value,
        "identity": contest.identity.value,
        # With identity "tag", a tag is an entry when it names an entrant: the map, then the pattern.
        "entrant_pattern": contest.entrant_pattern if contest.identity is Identity.TAG else None,
        "entrant_map": dict(contest.entrant_map) if contest.identity is Identity.TAG else {},
        "phrase": contest.phrase,
        "match": contest.match.value,
        "metric": contest.metric,
        "platforms": [str(p) for p in contest.platforms],  # empty: the judge host's own
        "limits": {
            "runs": int(contest.limits["runs"]),
            "timeout_s": float(contest.limits["timeout_s"]),
            "cross_check": bool(contest.limits["cross_check"]),
            "runtime": str(contest.limits.get("runtime") or "runc"),
        },
        "window": {
            "starts_at": _time(contest.starts_at),
            "ends_at": _time(contest.ends_at),
            "freeze_at": _time(contest.freeze_at),
        },
        "boards": [board.to_json() for board in boards],
        "push_to": push_to(contest),
    }


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def router(site: Site) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/rules", tags=["read"])
    def rules(request: Request) -> Response:
        """Everything a client needs to judge an image exactly as the contest will, and where to
        push it (`imagegolf submit`, `imagegolf judge --rules`); `rules_version` 1. ETag, and 304
        to `If-None-Match`."""
        contest = site.contest()
        body = json.dumps(rules_json(contest, contest_boards(site.db, contest)), sort_keys=True).encode()
        tag = "rules-" + hashlib.sha256(body).hexdigest()[:32]
        unchanged = not_modified(request, tag)
        if unchanged is not None:
            return unchanged
        return Response(body, media_type="application/json", headers=cache_headers(tag))

    @api.get("/digests/{digest}", tags=["read"])
    def digest_lookup(
        digest: str,
        tag: str | None = Query(None, max_length=300, description="only submissions of this tag"),
        entrant: str | None = Query(None, max_length=300, description="only this entrant's"),
    ) -> dict[str, Any]:
        """The submissions of one digest (`sha256:` and 64 hex digits), first seen first: `id`,
        `entrant`, `tag`, `first_seen`, `via`; at most 100 (`more` says whether there are others).
        An empty list when the contest has not seen that digest (yet). Their results:
        `/api/submissions/{id}`."""
        if not DIGEST.fullmatch(digest):
            raise WebError(400, f"{digest[:80]!r} is not a digest: give sha256: and 64 hex digits")
        contest = site.contest()
        try:
            found = contest_reads.find_all(site.db, contest, digest)
        except SubmissionNotFound:
            found = ()
        chosen = [
            s.submission
            for s in found
            if (tag is None or s.submission.tag == tag)
            and (entrant is None or s.submission.entrant == entrant)
        ]
        return {
            "digest": digest,
            "submissions": [
                {
                    "id": s.id,
                    "entrant": s.entrant,
                    "tag": s.tag,
                    "first_seen": _time(s.first_seen),
                    "via": s.via,
                }
                for s in chosen[:LOOKUP_LIMIT]
            ],
            "more": len(chosen) > LOOKUP_LIMIT,
        }

    return api
