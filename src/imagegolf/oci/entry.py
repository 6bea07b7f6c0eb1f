"""The file an image runs, found in its layers (what `explain` and the contest's detail page show)."""

from __future__ import annotations

from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import layer_entries
from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.oci.tar_entry import FILE, OPAQUE, WHITEOUT, TarEntry


def entry_file(image: Image, *, caps: Caps = DEFAULT_CAPS) -> tuple[str, bytes] | None:
    """(path, bytes) of the first word of Entrypoint+Cmd, as the top layer holding it has it.

    A layer above that whites the path out (or makes a parent directory opaque) removes it.
    """
    argv = image.config.argv
    if not argv:
        return None
    wanted = argv[0].strip("/")
    found: tuple[str, bytes] | None = None
    for descriptor, layer in zip(image.manifest.layers, image.layers, strict=True):
        here: tuple[str, bytes] | None = None
        hidden = False  # whiteouts and opaque directories hide only what lower layers hold
        for entry in layer_entries(layer, descriptor.media_type, caps=caps, keep_data=True):
            if entry.path == wanted and entry.kind == FILE and entry.data is not None:
                here = (entry.path, entry.data)
            hidden = hidden or _hides(entry, wanted)
        if here is not None or hidden:
            found = here
    return found


def _hides(entry: TarEntry, path: str) -> bool:
    """Whether a whiteout or opaque directory of an upper layer hides ``path`` of the lower ones."""
    if entry.kind == WHITEOUT and path == entry.path:
        return True
    return entry.kind in (WHITEOUT, OPAQUE) and path.startswith(entry.path + "/")
