"""Does the image carry the phrase in its metadata rather than in its files?

A board with the message rule ``files`` takes only images whose files make the phrase: an image whose
config (``Cmd``, ``Entrypoint``, ``Env``, labels…), manifest or index holds the phrase's bytes
gets it for free from metadata a program reads as argv or environment (the seed's argv-mode 50-byte
ELF prints its ``CMD`` argument). The search is on:

- the raw bytes of each JSON document, and every string in it decoded (JSON's ``\\u`` escapes
  would otherwise hide it);
- each array of strings joined by single spaces (``["echo", "hello", "IDBS", "engineering"]`` is
  what ``echo`` prints), and ``Entrypoint`` followed by ``Cmd``, joined likewise (the argv the
  engine builds: moby daemon/create.go, containers/podman pkg/specgen).

In ``contains`` mode ASCII letters are folded on both sides, as the output check does
(judge/matching.py); ``line`` and ``exact`` compare exactly. A phrase's trailing newline is not
looked for (``echo`` adds it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from imagegolf.judge.matching import MatchMode
from imagegolf.oci.image import Image

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def phrase_in_metadata(image: Image, phrase: str, mode: MatchMode) -> str | None:
    """``"config"``, ``"manifest"`` or ``"index"``: the first document holding the phrase; None."""
    wanted = _norm(phrase.rstrip("\n"), mode)
    if not wanted:
        return None
    documents = [("config", image.config_bytes), ("manifest", image.manifest_bytes)]
    if image.index is not None:
        documents.append(("index", image.index))
    for name, raw in documents:
        if _holds(raw, wanted, mode):
            return name
    return None


def _holds(raw: bytes, wanted: str, mode: MatchMode) -> bool:
    text = raw.decode("utf-8", "replace")
    if wanted in _norm(text, mode):
        return True
    try:
        document = json.loads(raw)
    except ValueError:
        return False
    return any(wanted in _norm(s, mode) for s in _strings(document))


def _strings(value: Any) -> Iterator[str]:
    """Every string of a JSON value, every array of strings joined, and Entrypoint + Cmd."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        texts = [v for v in value if isinstance(v, str)]
        if len(texts) > 1:
            yield " ".join(texts)
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        entrypoint, cmd = value.get("Entrypoint"), value.get("Cmd")
        if isinstance(entrypoint, list) and isinstance(cmd, list):
            yield " ".join(v for v in [*entrypoint, *cmd] if isinstance(v, str))
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _norm(text: str, mode: MatchMode) -> str:
    return text.translate(_ASCII_FOLD) if mode is MatchMode.CONTAINS else text


__all__ = ["phrase_in_metadata"]
