"""Hypothesis strategies for raw tar streams, drawn from a grammar of header kinds, hostile by design.

Every 512-byte block is built here field by field, never with Python's tarfile, which cannot
write most of these shapes: v7, ustar (with a prefix), GNU (long names and links, atime/ctime,
old sparse maps), star, PAX local and global headers; numbers in every spelling Go's parser meets
and then some; checksums right, signed or wrong; data cut short, padding missing, endings of every
kind.

Each archive is drawn in a *mood*. A "plain" archive is what some real writer could produce (Go,
GNU tar, bsdtar, star, git archive), so that a good share of the cases is read by both readers and
the comparison means something; a "twisted" one carries a twist or two; a "hostile" one many.
Every twist taken is named in ``Archive.twists``, and ``Archive.describe()`` lists the blocks the
way a tar listing would, so a failing case reads as its grammar, not as a hexdump. Draws shrink
towards plain: a shrunk failure keeps only the twists it needs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")
BLOCK = 512
HEADER_ONLY = frozenset(b"123456")  # Go's isHeaderOnlyType: it reads no data for these

# (offset, width) of every header field, declared here again on purpose: the generator stays
# independent of imagegolf's own declaration (src/imagegolf/oci/tar_header.py), so a wrong offset
# there cannot hide in both. GNU and star use the ustar prefix area differently.
FIELDS: dict[str, tuple[int, int]] = {
    "name": (0, 100),
    "mode": (100, 8),
    "uid": (108, 8),
    "gid": (116, 8),
    "size": (124, 12),
    "mtime": (136, 12),
    "linkname": (157, 100),
    "magic": (257, 6),
    "version": (263, 2),
    "uname": (265, 32),
    "gname": (297, 32),
    "devmajor": (329, 8),
    "devminor": (337, 8),
    "prefix": (345, 155),  # ustar
    "gnu_atime": (345, 12),
    "gnu_ctime": (357, 12),
    "gnu_sparse": (386, 97),  # old GNU sparse map: 4 x (offset, length), then isextended
    "gnu_realsize": (483, 12),
    "star_prefix": (345, 131),
    "star_atime": (476, 12),
    "star_ctime": (488, 12),
    "star_trailer": (508, 4),
}

# Per mood: the percent chance that an entry (or the archive's ending) takes twists at all, and
# then the percent chance of each of its 30 or so twist points. Gating per entry keeps plain
# entries cheap to draw and lets a shrunk failure drop a whole entry's twists at once.
MOODS: dict[str, tuple[int, int]] = {"plain": (0, 0), "twisted": (35, 5), "hostile": (90, 10)}
# Drawn 40/40/20, shrinking towards plain.
MOOD_DRAW = ("plain", "plain", "twisted", "twisted", "hostile")
# How real writers spell numbers and checksums: Go and GNU tar, bsdtar (" \0" endings), a 7-digit
# checksum (star, some old tars), a space-padded one. One writer per archive, as in real layers.
WRITERS = {
    "go": ("canonical", "unsigned"),
    "gnu": ("canonical", "unsigned"),
    "bsdtar": ("space-nul", "unsigned"),
    "star": ("canonical", "unsigned, 7 digits"),
    "old": ("canonical", "unsigned, space-padded"),
}


# -- What a case is made of, and how a failure report shows it -----------------------------------


@dataclass(frozen=True)
class Field:
    """One header field: its bytes, and how a failure report shows them."""

    raw: bytes
    shown: str


def text(raw: bytes) -> Field:
    return Field(raw, repr(raw))


@dataclass(frozen=True)
class Chunk:
    """Bytes that follow a header (data, padding) or stand alone (an ending, garbage)."""

    raw: bytes
    shown: str


@dataclass(frozen=True)
class Header:
    """One 512-byte header block, field by field; the checksum is written last, as ``checksum``
    says (twists write a wrong one on purpose)."""

    role: str  # what the block is for: "entry", "pax", "global pax", "long name", "long link"
    layout: str  # "ustar", "gnu", "v7", "star", or a twisted magic
    typeflag: bytes
    fields: tuple[tuple[str, Field], ...]
    checksum: str = "unsigned"

    def encode(self) -> bytes:
        block = bytearray(BLOCK)
        block[156:157] = self.typeflag
        for name, value in self.fields:
            offset, width = FIELDS[name]
            assert len(value.raw) <= width, (name, value)
            block[offset : offset + len(value.raw)] = value.raw
        block[148:156] = checksum_field(self.checksum, bytes(block))
        return bytes(block)

    def describe(self) -> str:
        shown = " ".join(f"{name}={value.shown}" for name, value in self.fields if value.raw.strip(b"\0"))
        return f"{self.role} [{self.layout}] typeflag={self.typeflag!r} {shown} chksum={self.checksum}"


@dataclass(frozen=True)
class Piece:
    """A header and the chunks after it; or, with no header, stray bytes where a header goes."""

    header: Header | None
    chunks: tuple[Chunk, ...] = ()

    def encode(self) -> bytes:
        head = self.header.encode() if self.header else b""
        return head + b"".join(c.raw for c in self.chunks)

    def describe(self, offset: int) -> list[str]:
        lines = [f"@{offset}: {self.header.describe()}"] if self.header else [f"@{offset}: stray bytes"]
        return lines + [f"    + {len(c.raw)} bytes: {c.shown}" for c in self.chunks if c.shown]


@dataclass(frozen=True)
class Archive:
    """A generated tar stream: pieces, an ending, perhaps cut short; and what was done to it."""

    pieces: tuple[Piece, ...]
    ending: Chunk = Chunk(b"", "no end blocks")
    cut: int = 0  # bytes removed from the very end (the truncation twists)
    mood: str = "plain"
    writer: str = "go"
    twists: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # plain choices worth reading in a report: odd names, meta sequences

    def encode(self) -> bytes:
        whole = b"".join(p.encode() for p in self.pieces) + self.ending.raw
        return whole[: len(whole) - self.cut]

    def __repr__(self) -> str:  # what Hypothesis prints for a failing case; describe() has the rest
        twists = "; ".join(self.twists) or "none"
        return f"<{self.mood} archive, {len(self.pieces)} pieces, {len(self.encode())} B; twists: {twists}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis's printer asks for this
        printer.text(repr(self))

    def describe(self) -> str:
        twists = "; ".join(self.twists) or "none"
        lines = [
            f"{self.mood} archive of {len(self.encode())} bytes by a {self.writer} writer; twists: {twists}"
        ]
        lines += [f"shape: {'; '.join(self.notes)}"] if self.notes else []
        offset = 0
        for piece in self.pieces:
            lines += piece.describe(offset)
            offset += len(piece.encode())
        lines.append(f"@{offset}: ending: {self.ending.shown}")
        lines += [f"then the last {self.cut} bytes cut off"] if self.cut else []
        return "\n".join(lines)


# -- Deterministic builders (the regression examples use them directly) --------------------------


def checksum_field(style: str, block: bytes) -> bytes:
    """The checksum field's 8 bytes: the sum of the block with the field itself as spaces."""
    spaced = block[:148] + b" " * 8 + block[156:]
    unsigned = sum(spaced)
    signed = sum(b - 256 if b > 127 else b for b in spaced)
    spellings = {
        "unsigned": b"%06o\0 " % unsigned,  # what Go and GNU tar write
        "unsigned, 7 digits": b"%07o\0" % unsigned,
        "unsigned, space-padded": b"%6o\0 " % unsigned,
        "signed": b"%06o\0 " % signed,  # old Sun tar; a negative sum spells as "-…"
        "wrong": b"%06o\0 " % (unsigned + 1),
        "base-256": b"\x80" + unsigned.to_bytes(7, "big"),
        "tab before": b"\t%06o\0" % unsigned,
        "empty": bytes(8),
    }
    return spellings[style]


# fmt: off
ODD_SPELLINGS = (  # Go reads every one of these
    "short", "leading-spaces", "full-width", "leading-nuls", "trailing-spaces", "nul-then-digits",
)
HOSTILE_SPELLINGS = (  # Go refuses these (or, for base-256, reads what octal cannot say)
    "space-nul-digits", "tab", "newline", "digit-8", "letter", "0o-prefix", "minus", "plus",
    "underscore", "inner-space", "high-byte", "base-256", "base-256-negative", "base-256-overflow",
    "empty", "spaces", "unicode-digit", "random",
)
# fmt: on
BINARY_SPELLINGS = frozenset({"base-256", "base-256-negative", "base-256-overflow", "random"})


def spell(
    value: int, width: int, spelling: str = "canonical", noise: bytes = b"", *, octal: bool = False
) -> Field:
    """``value`` in a numeric field of ``width`` bytes, spelled as ``spelling`` says. A value that
    octal cannot hold is written in base-256, as Go and GNU tar do; ``octal`` shows it in octal."""
    if spelling not in BINARY_SPELLINGS and not 0 <= value < 8 ** (width - 1):
        spelling = "base-256"
    raw = _spelled(value, width, spelling, noise)
    if len(raw) > width:  # this spelling does not fit the field: write it plainly
        spelling, raw = "canonical", _spelled(value, width, "canonical", noise)
    shown = oct(value) if octal else str(value)
    return Field(raw, shown if spelling == "canonical" else f"{raw!r} ({spelling}, {shown})")


def base256(value: int, width: int) -> bytes:
    """GNU's binary numbers: big-endian two's complement, the top bit set as the marker."""
    raw = bytearray((value & (256**width - 1)).to_bytes(width, "big"))
    raw[0] |= 0x80
    return bytes(raw)


def _spelled(value: int, width: int, spelling: str, noise: bytes) -> bytes:
    digits = b"%o" % abs(value)
    spellings = {
        "canonical": digits.rjust(width - 1, b"0") + b"\0",
        "space-nul": digits.rjust(width - 2, b"0") + b" \0",
        "short": digits + b"\0",
        "leading-spaces": digits.rjust(width - 1, b" ") + b"\0",
        "full-width": digits.rjust(width, b"0"),  # no terminator at all
        "leading-nuls": digits.rjust(width - 1, b"\0") + b"\0",
        "trailing-spaces": digits.ljust(width, b" "),
        "nul-then-digits": digits + b"\x0017",
        "space-nul-digits": digits + b" \x0017",
        "tab": b"\t" + digits + b"\0",
        "newline": digits + b"\n",
        "digit-8": digits[:-1] + b"8\0",
        "letter": b"x" + digits + b"\0",
        "0o-prefix": b"0o" + digits + b"\0",
        "minus": b"-" + digits + b"\0",
        "plus": b"+" + digits + b"\0",
        "underscore": digits[:1] + b"_" + digits[1:] + b"0\0",
        "inner-space": digits[:1] + b" " + digits[1:] + b"0\0",
        "high-byte": b"\xb0" + digits,
        "base-256": base256(value, width),
        "base-256-negative": base256(-(abs(value) or 1), width),
        "base-256-overflow": b"\x80" + b"\x7f" * (width - 1),
        "empty": b"",
        "spaces": b" " * width,
        "unicode-digit": "٣".encode() + digits + b"\0",
        "random": noise[:width],
    }
    return spellings[spelling]


# fmt: off
MAGICS: dict[str, tuple[bytes, bytes]] = {
    "ustar": (b"ustar\0", b"00"),
    "star": (b"ustar\0", b"00"),  # plus the "tar\0" trailer at 508
    "gnu": (b"ustar ", b" \0"),
    "v7": (b"", b""),
    "ustar magic, GNU version": (b"ustar\0", b" \0"),  # still ustar to Go: it checks the magic only
    "GNU magic, ustar version": (b"ustar ", b"00"),  # v7 to Go
    "bad magic": (b"ustaR\0", b"00"),  # v7 to Go
}
# fmt: on


def build_header(
    role: str, layout: str, typeflag: bytes, fields: dict[str, Field], checksum: str = "unsigned"
) -> Header:
    """A header of ``layout`` with plain defaults for every field ``fields`` does not give."""
    magic, version = MAGICS[layout]
    defaults = {
        "name": text(b""),
        "mode": spell(0o644, 8, octal=True),
        "uid": spell(0, 8),
        "gid": spell(0, 8),
        "size": spell(0, 12),
        "mtime": spell(0, 12),
        "linkname": text(b""),
        "magic": text(magic),
        "version": text(version),
    }
    if magic:  # v7 has no user names or device numbers, and Go does not parse them there
        defaults |= {"uname": text(b"root"), "gname": text(b"root")}
        defaults |= {"devmajor": spell(0, 8), "devminor": spell(0, 8)}
    if layout == "star":
        defaults |= {"star_atime": spell(0, 12), "star_ctime": spell(0, 12), "star_trailer": text(b"tar\0")}
    merged = defaults | fields
    ordered = sorted(merged.items(), key=lambda item: FIELDS[item[0]][0])
    return Header(role, layout, typeflag, tuple(ordered), checksum)


def pax_record(key: bytes, value: bytes, spelling: str = "exact") -> bytes:
    """One ``"%d %s=%s\\n"`` record; the twisted spellings break its length, separators or key."""
    body = key + value if spelling == "no equals sign" else key + b"=" + value
    body = b"=" + value if spelling == "empty key" else body
    tail = b" " + body + (b"x" if spelling == "no newline" else b"\n")
    prefix = {"plus sign": b"+", "leading zeros": b"00"}.get(spelling, b"")
    length = len(tail) + 1
    while len(prefix + b"%d" % length) + len(tail) != length:  # the length counts its own digits
        length += 1
    wrong = {"length one too long": length + 1, "length one too short": length - 1, "length zero": 0}
    wrong["length huge"] = 99_999_999
    return prefix + b"%d" % wrong.get(spelling, length) + tail


def padding(size: int) -> Chunk:
    pad = -size % BLOCK
    return Chunk(bytes(pad), f"padding ({pad} zeros)" if pad else "")


def data_chunks(data: bytes, shown: str) -> tuple[Chunk, ...]:
    return (Chunk(data, shown), padding(len(data)))


def show_bytes(data: bytes, limit: int = 60) -> str:
    return repr(data[:limit]) + ("…" if len(data) > limit else "")


def pax_piece(
    records: Sequence[tuple[bytes, bytes]],
    flag: bytes = b"x",
    *,
    payload: bytes | None = None,
    **fields: Field,
) -> Piece:
    """A PAX header ('x', or 'g' for global) carrying ``records`` (or a raw ``payload``);
    ``fields`` override any header field."""
    body = b"".join(pax_record(k, v) for k, v in records) if payload is None else payload
    role = "global pax" if flag == b"g" else "pax"
    name = b"pax_global_header" if flag == b"g" else b"PaxHeaders.0/p"
    base = {"name": text(name), "size": spell(len(body), 12)}
    return Piece(
        build_header(role, "ustar", flag, base | fields),
        data_chunks(body, "records " + show_bytes(body, 200)),
    )


def long_piece(value: bytes, flag: bytes = b"L") -> Piece:
    """A GNU long name ('L') or long link ('K') header carrying ``value`` and a NUL."""
    payload = value + b"\0"
    role = "long name" if flag == b"L" else "long link"
    fields = {"name": text(b"././@LongLink"), "size": spell(len(payload), 12)}
    return Piece(build_header(role, "gnu", flag, fields), data_chunks(payload, show_bytes(payload, 120)))


def entry_piece(
    name: bytes,
    data: bytes = b"",
    *,
    typeflag: bytes = b"0",
    layout: str = "ustar",
    checksum: str = "unsigned",
    **fields: Field,
) -> Piece:
    """An entry header and its data; ``fields`` override any header field."""
    base = {"name": text(name), "size": spell(len(data), 12)}
    header = build_header("entry", layout, typeflag, base | fields, checksum)
    return Piece(header, data_chunks(data, "data " + show_bytes(data, 24) if data else ""))


END_BLOCKS = Chunk(bytes(2 * BLOCK), "two zero blocks")


def archive_of(*pieces: Piece, end: Chunk = END_BLOCKS, cut: int = 0, note: str = "") -> Archive:
    """A hand-written archive (the regression examples), described like a drawn one."""
    return Archive(tuple(pieces), end, cut, "explicit", "hand", (note,) if note else ())


# -- The dice -----------------------------------------------------------------------------------


@cache
def _sampler(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


@cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


class Gen:
    """One archive's dice: plain choices, and twists at the mood's rate (each one recorded).

    Choices shrink towards the first option and towards "not taken", so a shrunk failure is as
    plain as the failure allows."""

    def __init__(self, draw: st.DrawFn, mood: str) -> None:
        self.draw = draw
        self.mood = mood
        self.gate, self.rate = MOODS[mood]
        self.twisting = False  # whether the current entry takes twists (see MOODS)
        self.writer = self.pick(tuple(WRITERS))
        self.spelling, self.checksum = WRITERS[self.writer]
        self.twists: list[str] = []
        self.notes: list[str] = []

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(_sampler(tuple(options)))  # type: ignore[no-any-return]

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(_integers(lo, hi))

    def chance(self, percent: int) -> bool:
        """A plain choice, taken ``percent`` times in a hundred."""
        return percent > 0 and self.integer(0, 99) >= 100 - percent

    def begin_entry(self) -> None:
        """Decide whether the next entry (or the ending) takes twists at all."""
        self.twisting = self.chance(self.gate)

    def twist(self, label: str) -> bool:
        """Whether to take the twist ``label`` (at the mood's rate); recorded if taken."""
        if not (self.twisting and self.chance(self.rate)):
            return False
        self.twists.append(label)
        return True

    def variant(self, label: str, variants: Sequence[T]) -> T | None:
        """None, or which variant of the twist ``label`` to take (recorded as "label: variant")."""
        if not (self.twisting and self.chance(self.rate)):
            return None
        chosen = self.pick(variants)
        self.twists.append(f"{label}: {chosen if isinstance(chosen, str) else repr(chosen)}")
        return chosen

    def note(self, what: str) -> None:
        self.notes.append(what)

    def noise(self, size: int) -> bytes:
        """``size`` arbitrary bytes from one draw (drawing them byte by byte is slow)."""
        return random.Random(self.integer(0, 2**32 - 1)).randbytes(size)

    def number(self, what: str, value: int, width: int) -> Field:
        """A numeric field: a plain spelling, or (as a twist) an odd or a hostile one."""
        spelling = self.variant(f"{what} spelled", ODD_SPELLINGS + HOSTILE_SPELLINGS) or self.spelling
        noise = self.noise(width) if spelling == "random" else b""
        return spell(value, width, spelling, noise, octal=what.endswith("mode"))


# -- Names ----------------------------------------------------------------------------------------

# fmt: off
COMMON_NAMES = (b"p", b"a/p", b"bin/hello", b"a", b"etc/passwd", b"usr/lib/x.so", b"hello", b"a/b/c")
SPECIAL_NAMES = (
    b"./p", b"/p", b"p/", b"a/../p", b"..", b".", b"", b"a//p", b".wh.p", b"a/.wh..wh..opq",
    b".wh..wh..opq", b".wh..wh.plnk/1", b"./", b"/", b"../p", b"a/./p", b"p/.", b"a/..",
    b"caf\xc3\xa9", b"\xff\xfe", b"a\\p", b" p", b"p\n", b"./.wh.p", b"a/.wh.",
)
LINK_TARGETS = (b"p", b"a/p", b"/bin/sh", b"../p", b"", b"/", b"bin/hello", b"\xff", b"./p", b"a/../../etc")
NAME_KINDS = ("common",) * 5 + ("special", "special", "long", "bytes")
# fmt: on


def entry_name(g: Gen, typeflag: bytes) -> bytes:
    kind = g.pick(NAME_KINDS)
    if kind == "common":
        name = g.pick(COMMON_NAMES)
    elif kind == "special":
        name = g.pick(SPECIAL_NAMES)
        g.note(f"name {name!r}")
    elif kind == "long":
        name = long_name(g)
        g.note(f"{len(name)}-byte name")
    else:
        name = g.noise(g.integer(1, 40)).replace(b"\0", b"") or b"\xff"  # a NUL is a twist of its own
        g.note(f"name {name!r}")
    if typeflag == b"5" and name and not name.endswith(b"/") and g.chance(50):
        name += b"/"  # most writers end directory names with a slash
    return name


def long_name(g: Gen) -> bytes:
    """Names past the 100-byte name field: some split into a ustar prefix, some do not."""
    letter = g.pick((b"d", b"d", b"\xc3\xa9", b"\xff"))
    directory = letter * g.pick((50, 120, 130, 131, 154, 155, 156, 200))
    base = g.pick((b"f", b"f" * 50, b"f" * 99, b"f" * 100, b"f" * 101))
    return g.pick((directory[:155] + b"/" + base, directory + b"/" + base, directory + base))


def prefix_splits(name: bytes, limit: int) -> list[int]:
    """Where ``name`` splits into a prefix of at most ``limit`` bytes and a name of 1..100."""
    slashes = [i for i, c in enumerate(name) if c == ord("/")]
    return [i for i in slashes if 0 < i <= limit and 0 < len(name) - i - 1 <= 100]


# -- Entries --------------------------------------------------------------------------------------

# fmt: off
PLAIN_TYPEFLAGS = (b"0",) * 6 + (b"\0", b"\0", b"5", b"5", b"5", b"2", b"2", b"1", b"6", b"3", b"4", b"7")
ODD_TYPEFLAGS = (b"S", b"D", b"V", b"A", b"M", b"N", b"I", b"X", b"9", b" ", b"\xff", b"x", b"g", b"L", b"K")
PLAIN_LAYOUTS = ("ustar", "ustar", "ustar", "gnu", "gnu", "v7", "star")
ODD_LAYOUTS = ("ustar magic, GNU version", "GNU magic, ustar version", "bad magic")
MODES = {
    b"5": (0o755, 0o40755, 0o700, 0o1777), b"2": (0o777, 0o120777), b"3": (0o666, 0o20666),
    b"4": (0o660, 0o60660), b"6": (0o644, 0o10644),
}
FILE_MODES = (0o644, 0o755, 0o600, 0o100644, 0o100755, 0o4755, 0o444)
ODD_MODES = (0o7777, 0o177777, 0o7777777, 1 << 40 | 0o755, -1, 0o2000755)
IDS = (0, 0, 1000, 65534, 2_097_151)
ODD_IDS = (2**21, 2**31, 2**32 + 5, 2**40, -1)
MTIMES = (0, 1_700_000_000, 8**11 - 1)
ODD_MTIMES = (8**11, -1, 2**40)
SIZES = (0, 1, 5, 100, 511, 512, 513, 1024, 1100)
NAME_CARRIER_TWISTS = (
    "in PAX and GNU 'L'", "in PAX and 'L', differently", "truncated", "empty in PAX",
    "prefix on a short name", "decoy in the field",
)
SIZE_TWISTS = ("one more than the data", "one less", "a block more", "zero", "in PAX only", "PAX differs")
# fmt: on


@dataclass
class Member:
    """What one entry needs before it becomes blocks: its header fields, PAX records, long names."""

    fields: dict[str, Field] = field(default_factory=dict)
    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    longs: list[tuple[bytes, bytes]] = field(default_factory=list)  # (flag 'L' or 'K', value)


def member(g: Gen, earlier: list[bytes]) -> list[Piece]:
    """One entry: its meta headers (PAX, GNU long name/link, perhaps a global header) and itself."""
    typeflag = g.variant("odd typeflag", ODD_TYPEFLAGS) or g.pick(PLAIN_TYPEFLAGS)
    layout = g.variant("odd magic", ODD_LAYOUTS) or g.pick(PLAIN_LAYOUTS)
    name = entry_name(g, typeflag)
    earlier.append(name)
    plan = Member()
    carry_name(g, plan, layout, name)
    if typeflag in (b"1", b"2") or g.twist("linkname on a non-link"):
        carry_link(g, plan, link_target(g, typeflag, earlier))
    data, shown = entry_data(g, typeflag, name)
    size_fields(g, plan, typeflag, data)
    attribute_fields(g, plan, layout, typeflag)
    extra_records(g, plan)
    if typeflag == b"0" and g.twist("PAX sparse"):
        data = pax_sparse(g, plan, data)
    if typeflag == b"S" and layout == "gnu":
        old_gnu_sparse(g, plan, data)
    header = build_header("entry", layout, typeflag, plan.fields, checksum(g))
    entry = Piece(header, (Chunk(data, shown if data else ""), *pad(g, len(data))))
    return [*metas(g, plan, name), entry]


def carry_name(g: Gen, plan: Member, layout: str, name: bytes) -> None:
    """Put the name where a writer would: the name field, a ustar/star prefix, PAX or GNU 'L'."""
    limit = {"ustar": 155, "star": 131}.get(layout, 0)
    splits = prefix_splits(name, limit)
    if len(name) > 100:
        carrier = "prefix" if splits and g.chance(70) else g.pick(("pax", "gnu"))
    else:
        carrier = g.pick(("pax", "gnu")) if g.chance(5) else "field"  # some writers always do
    odd = g.variant("name carried", NAME_CARRIER_TWISTS)
    carrier = {"truncated": "field", "prefix on a short name": "short prefix"}.get(odd or "", carrier)
    prefix_field = "star_prefix" if layout == "star" else "prefix"
    if carrier == "prefix":
        at = g.pick(splits)
        plan.fields |= {prefix_field: text(name[:at]), "name": text(name[at + 1 :])}
    elif carrier == "short prefix":
        plan.fields |= {prefix_field: text(b"pre"), "name": text(name[:100])}
    else:
        plan.fields["name"] = text(b"decoy" if odd == "decoy in the field" else name[:100])
    both = odd in ("in PAX and GNU 'L'", "in PAX and 'L', differently")
    if carrier == "pax" or both or odd == "decoy in the field":
        plan.records.append((b"path", name))
    if carrier == "gnu" or both:
        plan.longs.append((b"L", name + b".L" if odd == "in PAX and 'L', differently" else name))
    if odd == "empty in PAX":
        plan.records.append((b"path", b""))


def carry_link(g: Gen, plan: Member, target: bytes) -> None:
    carrier = "field" if len(target) <= 100 and not g.chance(5) else g.pick(("pax", "gnu"))
    odd = g.variant("link carried", ("in PAX and GNU 'K'", "empty in PAX", "truncated"))
    carrier = "field" if odd == "truncated" else carrier
    plan.fields["linkname"] = text(target[:100])
    if carrier == "pax" or odd in ("in PAX and GNU 'K'", "empty in PAX"):
        plan.records.append((b"linkpath", b"" if odd == "empty in PAX" else target))
    if carrier == "gnu" or odd == "in PAX and GNU 'K'":
        plan.longs.append((b"K", target))


def link_target(g: Gen, typeflag: bytes, earlier: list[bytes]) -> bytes:
    if typeflag == b"1" and len(earlier) > 1 and g.chance(70):
        return g.pick(earlier[:-1])  # a hard link to an entry before it
    return long_name(g) if g.chance(10) else g.pick(LINK_TARGETS)


def entry_data(g: Gen, typeflag: bytes, name: bytes) -> tuple[bytes, str]:
    """The bytes after the header: none for header-only types unless a twist puts some there.
    A v7 entry (NUL typeflag) named ``…/`` is a directory to Go, which then reads no data."""
    if typeflag[0] in HEADER_ONLY or (typeflag == b"\0" and name.endswith(b"/")):
        kind = g.variant("data after a header-only entry", ("zeros", "noise", "a smuggled tar entry"))
        if kind is None:
            return b"", ""
    else:
        kind = g.variant("data", ("zeros", "a smuggled tar entry")) or "noise"
    if kind == "a smuggled tar entry":
        return entry_piece(b"smuggled", b"evil\n").encode(), "data: a whole tar entry 'smuggled'"
    size = g.pick(SIZES) if g.chance(70) else g.integer(0, 1100)
    if kind == "zeros":
        return bytes(size), "data (zeros)"
    return g.noise(size), "data (noise)"


def size_fields(g: Gen, plan: Member, typeflag: bytes, data: bytes) -> None:
    """The header's size (and perhaps a PAX size): the data's length, unless twisted."""
    size = len(data)
    if typeflag[0] in HEADER_ONLY and not data and g.twist("a size on a header-only entry"):
        size = g.pick((1, 512, 1024))
    how = g.variant("size", SIZE_TWISTS)
    changed = {
        "one more than the data": size + 1,
        "one less": size - 1,
        "a block more": size + BLOCK,
        "zero": 0,
    }
    header_size = changed.get(how or "", size)
    if how in ("in PAX only", "PAX differs") or (size and g.chance(3)):  # a PAX size: writers past 8 GiB
        header_size = 0 if how == "in PAX only" else header_size
        plan.records.append((b"size", b"%d" % (size + 7 if how == "PAX differs" else size)))
    plan.fields["size"] = g.number("size", max(header_size, 0), 12)


def attribute_fields(g: Gen, plan: Member, layout: str, typeflag: bytes) -> None:
    """Mode, owner, times and device numbers; the GNU and star extras."""
    mode = g.pick(ODD_MODES) if g.twist("odd mode") else g.pick(MODES.get(typeflag, FILE_MODES))
    uid = g.pick(ODD_IDS) if g.twist("odd uid") else g.pick(IDS)
    gid = g.pick(ODD_IDS) if g.twist("odd gid") else g.pick(IDS)
    mtime = g.pick(ODD_MTIMES) if g.twist("odd mtime") else g.pick(MTIMES)
    plan.fields |= {"mode": g.number("mode", mode, 8), "uid": g.number("uid", uid, 8)}
    plan.fields |= {"gid": g.number("gid", gid, 8), "mtime": g.number("mtime", mtime, 12)}
    if MAGICS[layout][0]:
        major, minor = (8, 1) if typeflag in (b"3", b"4") else (0, 0)
        plan.fields |= {
            "devmajor": g.number("devmajor", major, 8),
            "devminor": g.number("devminor", minor, 8),
        }
        if g.twist("non-ASCII user name"):
            plan.fields["uname"] = text(b"r\xc3\xb6\xff")
    if layout == "gnu":
        gnu_times(g, plan)
    if layout == "star":
        plan.fields["star_atime"] = g.number("star atime", 1_700_000_000, 12)
        plan.fields["star_ctime"] = g.number("star ctime", 1_700_000_000, 12)
    if layout == "v7" and g.twist("garbage after a v7 header"):
        plan.fields["prefix"] = text(g.noise(155))


# Pre-1.8 Go wrote a ustar prefix into GNU headers; Go parses GNU atime/ctime and, when they do not
# parse, reads the area as that prefix if it is ASCII.
GNU_TIME_TWISTS = {
    "text": b"dir",
    "text, non-ASCII": b"d\xc3\xa9r",
    "octal then text": b"00000000000\0dir",
    "invalid octal": b"99999999999\0",
}


def gnu_times(g: Gen, plan: Member) -> None:
    if "prefix" in plan.fields:
        return  # a twist already wrote a prefix over the times
    if g.chance(10):  # GNU tar --incremental writes them
        plan.fields |= {"gnu_atime": spell(1_700_000_000, 12), "gnu_ctime": spell(1_700_000_000, 12)}
    odd = g.variant("GNU atime/ctime", tuple(GNU_TIME_TWISTS))
    if odd:
        raw = GNU_TIME_TWISTS[odd]
        plan.fields |= {"gnu_atime": text(raw[:12]), "gnu_ctime": text(raw[12:24])}


def old_gnu_sparse(g: Gen, plan: Member, data: bytes) -> None:
    """GNU's old sparse header ('S'): a map of (offset, length) in the header, the real size."""
    if not g.chance(70):
        return  # an empty map: Go still reads it as sparse
    entry = spell(4096, 12).raw + spell(len(data), 12).raw
    plan.fields["gnu_sparse"] = Field(entry, f"[(4096, {len(data)})]")
    plan.fields["gnu_realsize"] = spell(4096 + len(data), 12)


def checksum(g: Gen) -> str:
    return g.variant("checksum", ("signed", "wrong", "base-256", "tab before", "empty")) or g.checksum


def pad(g: Gen, size: int) -> tuple[Chunk, ...]:
    """The zeros up to the next block; a twist drops them, cuts them or fills them with noise."""
    full = -size % BLOCK
    if not full:
        return ()
    how = g.variant("padding", ("missing", "partial", "noise"))
    if how == "missing":
        return (Chunk(b"", "padding missing"),)
    if how == "partial":
        keep = g.integer(1, full - 1) if full > 1 else 0
        return (Chunk(bytes(keep), f"padding partial ({keep} of {full})"),)
    if how == "noise":
        return (Chunk(g.noise(full), "padding of noise"),)
    return (padding(size),)


# -- PAX records and the meta headers ------------------------------------------------------------

# fmt: off
PLAIN_RECORDS: dict[bytes, tuple[bytes, ...]] = {
    b"uid": (b"0", b"1000", b"4294967296", b"007"),
    b"gid": (b"0", b"1000", b"65534"),
    b"mtime": (b"1700000000", b"1700000000.123456789", b"0", b"-1.5", b"1700000000.1234567891234"),
    b"atime": (b"1700000000.5",),
    b"ctime": (b"1700000000",),
    b"uname": (b"root", b"r\xc3\xb6"),
    b"gname": (b"wheel",),
    b"SCHILY.xattr.security.capability": (b"\x01\x00\x00\x02\x00\x20\x00\x00" + bytes(12),),
    b"SCHILY.xattr.trusted.overlay.opaque": (b"y",),
    b"SCHILY.xattr.user.x": (b"1", b""),
    b"LIBARCHIVE.xattr.user.x": (b"MQ",),
    b"comment": (b"made by tar_grammar", b"a=b\nc"),
    b"hdrcharset": (b"BINARY",),
}
HOSTILE_RECORDS: dict[bytes, tuple[bytes, ...]] = {
    b"uid": (b"-1", b"+5", b"", b"x", b"99999999999999999999", "١".encode(), "²".encode(), b" 5", b"5 ",
             b"9223372036854775807", b"9223372036854775808"),  # int64's largest, and one past it
    b"gid": (b"-1", b"0x10", b"1_0", b"9223372036854775808"),
    b"mtime": (b"abc", b"1.2.3", b"", b"1e9", b"1.x", b"99999999999999999999", b" 1", b"1.-5"),
    b"atime": (b"-", b"."),
    b"ctime": (b"+1.5", b"1."),
    b"uname": (b"ro\0ot",),
    b"gname": (b"\0",),
    b"SCHILY.xattr.": (b"nameless",),
    b"SCHILY.xattr.user.nul": (b"a\0b",),
    b"comment": (b"a\0b",),
    b"linkpath": (b"a\0b", b"elsewhere"),
    b"path": (b"a\0b", b"other", b"./other/"),
    b"size": (b"-1", b"+3", b"x", b"", b"99999999999999999999", b"9223372036854775808"),
    b"foo.bar": (b"baz",),
    b"GNU.sparse.size": (b"5",),
}
RECORD_SPELLINGS = (
    "plus sign", "leading zeros", "length one too long", "length one too short", "length zero",
    "length huge", "no newline", "no equals sign", "empty key",
)
# fmt: on


def extra_records(g: Gen, plan: Member) -> None:
    """PAX records beyond the carriers: owners, times, xattrs, comments; hostile ones as twists."""
    if g.chance(15):
        for _ in range(g.integer(1, 3)):
            key = g.pick(tuple(PLAIN_RECORDS))
            plan.records.append((key, g.pick(PLAIN_RECORDS[key])))
    if g.twist("hostile PAX record"):
        key = g.pick(tuple(HOSTILE_RECORDS))
        value = g.pick(HOSTILE_RECORDS[key])
        plan.records.append((key, value))
        g.twists[-1] += f" {key!r}={value!r}"
    if plan.records and g.twist("duplicate PAX key"):
        key, value = plan.records[0]
        plan.records.append((key, value + b"2"))


def pax_sparse(g: Gen, plan: Member, data: bytes) -> bytes:
    """GNU's PAX sparse shapes (0.0, 0.1, 1.0) and broken ones; returns the data as stored."""
    shape = g.pick(("0.0", "0.1", "1.0", "offset without numbytes", "unknown version"))
    g.twists[-1] += f": {shape}"
    real = b"%d" % (len(data) + 4096)
    if shape == "0.0":
        plan.records += [(b"GNU.sparse.size", real), (b"GNU.sparse.numblocks", b"1")]
        plan.records += [(b"GNU.sparse.offset", b"4096"), (b"GNU.sparse.numbytes", b"%d" % len(data))]
    elif shape == "0.1":
        plan.records += [(b"GNU.sparse.size", real), (b"GNU.sparse.numblocks", b"1")]
        plan.records += [(b"GNU.sparse.map", b"4096,%d" % len(data))]
    elif shape == "1.0":
        plan.records += [(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0")]
        plan.records += [(b"GNU.sparse.name", b"sparse"), (b"GNU.sparse.realsize", real)]
        data = (b"1\n4096\n%d\n" % len(data)).ljust(BLOCK, b"\0") + data  # the map leads the data
        plan.fields["size"] = spell(len(data), 12)
        plan.records = [(k, v) for k, v in plan.records if k != b"size"]
    elif shape == "offset without numbytes":
        plan.records += [(b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.offset", b"0")]
    else:
        plan.records += [(b"GNU.sparse.major", b"2"), (b"GNU.sparse.minor", b"0")]
    return data


META_ROLES = {b"x": "pax", b"g": "global pax", b"L": "long name", b"K": "long link"}


def meta_piece(g: Gen, flag: bytes, payload: bytes, name: bytes, shown: str) -> Piece:
    """A PAX ('x'/'g') or GNU ('L'/'K') header with its payload; its own fields twist too."""
    role = META_ROLES[flag]
    layout = g.variant(f"{role} header magic", ("v7", "gnu", "ustar", "star")) or (
        "gnu" if flag in b"LK" else "ustar"
    )
    odd_size = g.variant(f"{role} size", ("one more", "one less", "zero", "over 1 MiB"))
    sizes = {
        "one more": len(payload) + 1,
        "one less": max(len(payload) - 1, 0),
        "zero": 0,
        "over 1 MiB": 2**20 + 1,
    }
    fields = {
        "name": text(name[:100]),
        "size": g.number(f"{role} size", sizes.get(odd_size or "", len(payload)), 12),
    }
    fields |= {"mode": g.number(f"{role} mode", 0o644, 8), "mtime": g.number(f"{role} mtime", 0, 12)}
    header = build_header(role, layout, flag, fields, checksum(g))
    return Piece(header, (Chunk(payload, shown), *pad(g, len(payload))))


def pax_meta(g: Gen, records: Sequence[tuple[bytes, bytes]], name: bytes, flag: bytes = b"x") -> Piece:
    spelled = [pax_record(k, v, g.variant("PAX record", RECORD_SPELLINGS) or "exact") for k, v in records]
    payload = b"".join(spelled)
    header_name = b"pax_global_header" if flag == b"g" else b"PaxHeaders.0/" + name.rsplit(b"/", 1)[-1][:80]
    return meta_piece(g, flag, payload, header_name, "records " + show_bytes(payload, 200))


LONG_PAYLOAD_TWISTS = ("no NUL", "NUL inside", "extra NULs", "empty")


def long_meta(g: Gen, flag: bytes, value: bytes) -> Piece:
    how = g.variant("GNU long payload", LONG_PAYLOAD_TWISTS)
    payloads = {"no NUL": value, "NUL inside": value[:3] + b"\0" + value[3:] + b"\0"}
    payloads |= {"extra NULs": value + bytes(20), "empty": b""}
    payload = payloads.get(how or "", value + b"\0")
    return meta_piece(g, flag, payload, b"././@LongLink", show_bytes(payload, 120))


def metas(g: Gen, plan: Member, name: bytes) -> list[Piece]:
    """The entry's meta headers in a writer's order; twists split, add, reorder or interleave them."""
    pieces = [long_meta(g, flag, value) for flag, value in plan.longs]
    records = plan.records
    if len(records) > 1 and g.twist("PAX records split over two 'x' headers"):
        cut = g.integer(1, len(records) - 1)
        pieces += [pax_meta(g, records[:cut], name), pax_meta(g, records[cut:], name)]
    elif records:
        pieces.append(pax_meta(g, records, name))
    if g.twist("an extra 'x' header first"):
        pieces.insert(0, pax_meta(g, [(b"uid", b"77"), (b"path", b"from-extra-x")], name))
    if g.twist("a second GNU long name first"):
        pieces.insert(0, long_meta(g, b"L", b"first-long-name"))
    if len(pieces) > 1 and g.twist("meta headers reordered"):
        pieces = g.draw(st.permutations(pieces))
    if g.chance(3):  # git archive starts with a global header holding a comment
        pieces.insert(0, pax_meta(g, [(b"comment", b"0123abcd")], name, b"g"))
    if pieces and g.twist("a global header just before the entry"):
        pieces.append(pax_meta(g, [(b"comment", b"global")], name, b"g"))
    if len(pieces) > 1:
        g.note("meta headers " + " ".join(repr(p.header.typeflag) for p in pieces if p.header))
    return pieces


# -- Archives -------------------------------------------------------------------------------------

# fmt: off
PLAIN_ENDINGS = ("two zero blocks",) * 3 + ("none", "one zero block", "record padding")
HOSTILE_ENDINGS = (
    "a zero block then garbage", "trailing garbage after the end", "a partial header",
    "a partial zero block", "a zero block then a header",
)
# fmt: on


def ending(g: Gen, length: int) -> Chunk:
    """What follows the last entry: end blocks (or not), and the twisted endings."""
    odd = g.variant("ending", HOSTILE_ENDINGS)
    if odd == "a zero block then garbage":
        return Chunk(bytes(BLOCK) + g.noise(BLOCK), odd)
    if odd == "trailing garbage after the end":
        return Chunk(bytes(2 * BLOCK) + g.noise(g.integer(1, 700)), odd)
    if odd == "a partial header":
        return Chunk(entry_piece(b"partial", b"x").encode()[: g.integer(1, BLOCK - 1)], odd)
    if odd == "a partial zero block":
        return Chunk(bytes(g.integer(1, BLOCK - 1)), odd)
    if odd == "a zero block then a header":
        return Chunk(bytes(BLOCK) + entry_piece(b"after-zero").encode(), odd)
    plain = g.pick(PLAIN_ENDINGS)
    if plain == "record padding":  # GNU tar fills the last 10 KiB record, end blocks included
        return Chunk(bytes(2 * BLOCK + (-(length + 2 * BLOCK) % 10240)), "two zero blocks, padded to 10 KiB")
    blocks = {"two zero blocks": 2, "none": 0, "one zero block": 1}[plain]
    return Chunk(bytes(blocks * BLOCK), plain)


def stray_piece(g: Gen) -> list[Piece]:
    """A twist between entries: a lone zero block, or a block of noise."""
    odd = g.variant("between entries", ("a lone zero block", "a block of noise"))
    if odd is None:
        return []
    return [Piece(None, (Chunk(bytes(BLOCK) if odd == "a lone zero block" else g.noise(BLOCK), odd),))]


def dangling_metas(g: Gen) -> list[Piece]:
    """A meta header with no entry after it: the archive ends first."""
    flag = g.pick((b"x", b"L", b"K", b"g"))
    if flag in b"LK":
        return [long_meta(g, flag, b"dangling")]
    return [pax_meta(g, [(b"path", b"dangling")], b"dangling", flag)]


def cut_length(g: Gen, pieces: Sequence[Piece], end: Chunk) -> int:
    """Truncation twists: how many bytes to cut, into the last entry's data or header."""
    odd = g.variant("cut", ("inside the last data", "inside the last header", "one byte"))
    if odd is None or not pieces:
        return 0
    last = len(pieces[-1].encode())
    if odd == "one byte":
        return len(end.raw) + 1
    if odd == "inside the last header" or last <= BLOCK:
        return len(end.raw) + last - g.integer(1, min(BLOCK, last) - 1)
    return len(end.raw) + g.integer(1, last - BLOCK)


@st.composite
def archives(draw: st.DrawFn) -> Archive:
    """A tar stream of 1 to 5 entries with their meta headers, in a drawn mood."""
    g = Gen(draw, draw(_sampler(MOOD_DRAW)))
    pieces: list[Piece] = []
    names: list[bytes] = []
    for _ in range(g.integer(1, 5)):
        g.begin_entry()
        pieces += member(g, names) + stray_piece(g)
    g.begin_entry()  # the ending's twists
    if g.twist("a meta header dangling at the end"):
        pieces += dangling_metas(g)
    end = ending(g, sum(len(p.encode()) for p in pieces))
    cut = cut_length(g, pieces, end)
    return Archive(tuple(pieces), end, cut, g.mood, g.writer, tuple(g.twists), tuple(g.notes))
