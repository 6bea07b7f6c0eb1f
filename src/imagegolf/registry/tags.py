"""Tag listing (distribution-spec "listing tags"): ``n`` per page, ``Link: <…>; rel="next"`` to follow."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from urllib.parse import urlsplit

from imagegolf.registry.body import read_capped
from imagegolf.registry.errors import NotFound, RegistryProtocolError
from imagegolf.registry.protocol import pull_scope
from imagegolf.registry.session import RegistrySession

TAGS_PAGE_CAP = 4 * 1024 * 1024
MAX_TAG_PAGES = 10_000


def list_tags(session: RegistrySession, repository: str, page_size: int | None) -> list[str]:
    """Every tag, page after page; a repository the registry does not know has no tags."""
    url: str | None = f"/v2/{repository}/tags/list"
    params = {"n": str(page_size)} if page_size else None
    tags: list[str] = []
    for number in range(MAX_TAG_PAGES):
        if url is None:
            return tags
        try:
            page, url = session.retrying("list tags", partial(_page, session, repository, url, params))
        except NotFound:
            if number == 0:
                return []
            raise
        params = None  # the next link carries n and last
        tags.extend(page)
    raise RegistryProtocolError(f"registry {session.registry} paged the tags of {repository} without end")


def _page(
    session: RegistrySession, repository: str, url: str, params: Mapping[str, str] | None
) -> tuple[list[str], str | None]:
    response = session.request("GET", url, scopes=pull_scope(repository), params=params)
    session.expect(response, {200}, f"list the tags of {repository}", keep=True)
    following = response.link("next")
    here = urlsplit(session.transport.base_url).netloc
    if following and urlsplit(session.transport.url(following)).netloc != here:
        response.close()
        raise RegistryProtocolError(f"registry {session.registry} sent the next tag page to another host")
    try:
        body = json.loads(read_capped(response, TAGS_PAGE_CAP, "a tag list").decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    tags = body.get("tags") if isinstance(body, dict) else None
    if tags is None and isinstance(body, dict):
        tags = []  # distribution answers "tags": null for a repository whose tags were all deleted
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RegistryProtocolError(f"registry {session.registry} answered a tag list that is not one")
    return tags, following
