"""Layers that Go's archive/tar (and so dockerd and podman) reads one way and a naive reader another.

Each holds a working static busybox in a plain entry, so the image runs and prints the phrase on
both engines, beside a construct of one of the classes readers disagree on, carrying a 13 KB
decoy. Read naively, several of them score as a few bytes while the engine stores the decoy (or
the reverse). The judge must refuse every one, naming the construct and the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imagegolf.oci import tar_header as h
from tests.judge.images import PHRASE, busybox
from tests.oci.rawtar import END, GNU, STAR, V7, gnu_long, header, member, pax

DECOY = b"d" * 13_000
DECOY_PADDED = DECOY + bytes(-len(DECOY) % 512)


@dataclass(frozen=True)
class Game:
    name: str
    construct: Callable[[], bytes]  # the layer bytes after the busybox entries
    reason: tuple[str, ...]  # what the judge's reason must name


def busybox_entries() -> bytes:
    return member("bin/", typeflag=b"5", mode=0o755) + member("bin/busybox", busybox(), mode=0o755)


def layer(game: Game) -> bytes:
    return busybox_entries() + game.construct() + END


def _hardlink_then_replaced() -> bytes:
    # Go/moby: "/big" replaces big's name, h keeps the 13 KB inode (13,001 bytes stored);
    # a last-entry-wins reader counts 1 byte.
    return member("big", DECOY) + header("h", b"1", linkname="big") + member("/big", b"x")


GAMES = (
    Game("two-pax-headers", lambda: pax({"size": "1"}) + pax({"path": "decoy"}) + member("x", DECOY),
         ("two PAX extended headers", "entry 3 (`decoy`)")),
    Game("pax-then-global", lambda: pax({"path": "decoy"}) + pax({"comment": "c"}, b"g") + member("x", DECOY),
         ("PAX global header", "drops the meta header")),
    Game("gnu-long-name-and-pax-path",
         lambda: gnu_long("decoy-gnu") + pax({"path": "decoy-pax"}) + member("x", DECOY),
         ("GNU long name mixed with a PAX path",)),
    Game("star-prefix", lambda: member("decoy", DECOY, form=STAR, fields={h.STAR_PREFIX: b"d"}),
         ("star header with a name prefix",)),
    Game("gnu-times-as-prefix", lambda: member("decoy", DECOY, form=GNU, fields={h.GNU_ATIME: b"pfx"}),
         ("GNU header with atime/ctime",)),
    Game("v7-directory-with-data", lambda: member("decoy/", DECOY, typeflag=b"\0", form=V7),
         ("old-style (v7)", "entry 3 (`decoy/`)")),
    Game("duplicate-spellings", lambda: member("decoy", DECOY) + member("/decoy", b"x"),
         ("entry 4 (`/decoy`) names the same path as entry 3 (`decoy`)",)),
    Game("hardlink-target-replaced", _hardlink_then_replaced, ("entry 5 (`/big`) names the same path",)),
    Game("directory-replaced-by-file", lambda: member("d/decoy", DECOY) + member("d", b"x"),
         ("replaces the directory holding entry 3",)),
    Game("whiteout-in-its-own-layer", lambda: member("decoy", DECOY) + member(".wh.decoy"),
         ("whites out /decoy, which the same layer holds",)),
    Game("opaque-root", lambda: member(".wh..wh..opq"), ("layer root opaque",)),
    Game("symlink-with-data", lambda: header("s", b"2", len(DECOY), linkname="x") + DECOY_PADDED,
         ("symlink that declares 13000 bytes",)),
    Game("pax-size-override", lambda: pax({"size": "1"}) + member("decoy", DECOY),
         ("PAX size of 1", "header says 13000")),
    Game("base-256-size",
         lambda: member("decoy", DECOY, fields={h.SIZE: b"\x80" + len(DECOY).to_bytes(11, "big")}),
         ("size in base-256",)),
    Game("octal-after-nul", lambda: member("decoy", DECOY, fields={h.MODE: b"644\x007777"}),
         ("mode field spelled",)),
    Game("gnu-sparse", lambda: member("decoy", DECOY, typeflag=b"S", form=GNU), ("GNU sparse",)),
    Game("pax-sparse", lambda: pax({"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                                    "GNU.sparse.name": "decoy"}) + member("x", DECOY),
         ("PAX sparse file",)),
    Game("overlay-opaque-xattr",
         lambda: pax({"SCHILY.xattr.trusted.overlay.opaque": "y"}) + member("etc/", typeflag=b"5"),
         ("trusted.overlay.opaque",)),
    Game("contiguous-file", lambda: member("decoy", DECOY, typeflag=b"7"), ("contiguous file",)),
    Game("dangling-pax", lambda: pax({"path": "decoy"}), ("no entry for it",)),
)  # fmt: skip
PHRASE_CMD = ["/bin/busybox", "echo", PHRASE]
