"""What the judge refuses (REJECTED_IMAGE) before anything runs, in the words the rules page uses.

One list for docs/judging.md and the contest's rules page (tests check both show every item).
Each is (what, why): the why says which engine behaviour makes it unsafe or ambiguous.
"""

from __future__ import annotations

REFUSED: tuple[tuple[str, str], ...] = (
    ("blobs that do not match their digest or size, foreign layers (`urls`), unknown media types, "
     "`diff_ids` that do not match the layers",
     "the judge scores only bytes it verified"),
    ("an image for another platform than the one judged, a config whose `os` is not linux, or whose "
     "architecture is not that of the ELF it runs",
     "the engine would run something other than what the image declares"),
    ("an image for a platform the judge's host runs only through emulation, unless the contest names "
     "that platform",
     "emulated runs are opt-in"),
    ("several PAX extended headers before one entry; a PAX global header after a pending one, or one "
     "that sets a path, size or owner, or whose name is a path",
     "Go's tar reader, which dockerd and podman use, applies the last header only and ignores global "
     "ones; other readers merge or apply them"),
    ("GNU long names or links mixed with PAX paths, two of them for one entry, or empty ones",
     "readers keep different names"),
    ("star headers with a name prefix; v7 or GNU headers with bytes where ustar keeps its prefix",
     "readers take different name prefixes from them"),
    ("old-style (v7) entries whose name ends in `/` but carry data; links, directories or devices that "
     "declare data; a PAX size that differs from the header's",
     "readers disagree on whether the data belongs to the entry"),
    ("numbers in odd spellings (leading NULs, text after the digits, base-256 sizes or modes), modes "
     "whose type bits contradict the entry",
     "readers parse them differently"),
    ("sparse files, contiguous files and other entry kinds (GNU dump directories, volume labels)",
     "the engines cannot extract them"),
    ("two entries that name the same path however spelled (`p`, `./p`, `/p`, `p/`); an entry under a "
     "file or symlink of the same layer; a file replacing a directory that holds entries of the same "
     "layer",
     "the engines refuse some spellings and keep the last of the others"),
    ("paths with a `..` component or a component over 255 bytes; hard links to anything but a file "
     "earlier in the same layer; symlinks with an empty target or one that climbs above the root",
     "the engines extract them differently, or not at all"),
    ("whiteouts that carry data, are not files, white out `.`, `..` or a path of the same layer; an "
     "opaque marker at the layer root; other `.wh..wh.` names",
     "overlayfs and the engines apply them differently from the image spec"),
    ("`trusted.*` and `user.overlay.*` extended attributes",
     "they change what overlayfs shows: opaque or redirected directories"),
    ("device nodes and FIFOs; anything under `/proc` or `/sys` or in `/dev` but an empty directory; links "
     "at `/etc/hosts`, `/etc/resolv.conf` and the other paths the runtime mounts over; writing through "
     "a symlink of a lower layer",
     "they are aimed at the host or the runtime"),
    ("more than 16 layers, 64 KiB of manifest or config, 64 MiB per compressed layer, 256 MiB per "
     "unpacked layer or 512 MiB for the whole image, 10,000 files per layer or 20,000 in all, or "
     "60 s of reading",
     "caps against decompression bombs, checked while streaming"),
)  # fmt: skip
