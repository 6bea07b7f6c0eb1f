"""Snapshots of host paths, to show that judging hostile images changed nothing outside temp dirs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from imagegolf.engine.sandbox import NOBODY_UID

_MAX_HASHED = 4 * 1024 * 1024
Snapshot = dict[str, tuple[str, int]]  # path -> (what it is, owner uid)


def snapshot(root: Path) -> Snapshot:
    """Everything below ``root``: a file's sha256, a link's target or "dir", and the owner."""
    out: Snapshot = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            out[str(path)] = _describe(path)
    return out


def top_level(root: Path) -> Snapshot:
    """The entries directly in ``root``."""
    return {str(path): _describe(path) for path in root.iterdir()}


def _describe(path: Path) -> tuple[str, int]:
    try:
        info = path.lstat()
        if path.is_symlink():
            return "link:" + os.readlink(path), info.st_uid
        if path.is_dir():
            return "dir", info.st_uid
        if not path.is_file():
            return "special", info.st_uid
        if info.st_size > _MAX_HASHED:
            return f"size:{info.st_size}:{info.st_mtime_ns}", info.st_uid
        return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_uid
    except OSError as error:
        return f"unreadable:{error.errno}", -1


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Every difference: changed, removed and added paths."""
    found = [f"changed {p}" for p in before if p in after and before[p] != after[p]]
    found += [f"removed {p}" for p in before if p not in after]
    found += [f"added {p}" for p in after if p not in before]
    return found


def shared_dir_changes(before: Snapshot, after: Snapshot, names: tuple[str, ...]) -> list[str]:
    """Differences in a directory others use too (/tmp): files that changed owner or now belong to
    the sandbox user (uid 65534), or entries bearing one of ``names`` (the canaries hostile images
    aim at), or new entries owned by uid 65534.

    Others create, rewrite and remove their own entries there meanwhile (test services, logs of
    the process running the tests): content changes of their files are not findings. /etc is
    compared in full, content included (``snapshot``).
    """
    found = [
        f"changed {p}"
        for p in before
        if p in after
        and before[p] != after[p]
        and (before[p][1] != after[p][1] or after[p][1] == NOBODY_UID or any(n in p for n in names))
    ]
    for path, (_what, uid) in after.items():
        if path not in before and (uid == NOBODY_UID or any(n in path for n in names)):
            found.append(f"added {path} (uid {uid})")
    return found
