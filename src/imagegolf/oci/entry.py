"""The file an image runs, found in its layers (what `explain` and the contest's detail page show)."""

from __future__ import annotations

from imagegolf.oci.filesystem import file_data, image_filesystem
from imagegolf.oci.image import Image
from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.oci.tar_entry import FILE


def entry_file(image: Image, *, caps: Caps = DEFAULT_CAPS) -> tuple[str, bytes] | None:
    """(path, bytes) of the first word of Entrypoint+Cmd as the merged layers show it.

    A layer above that whites the path out (or makes a parent directory opaque, or puts something
    else there) removes it; a hard link leads to the file it shares.
    """
    argv = image.config.argv
    if not argv:
        return None
    wanted = argv[0].strip("/")
    tree = image_filesystem(image, caps=caps)
    node = tree.file_node(wanted)
    if node is None or node.entry.kind != FILE:
        return None
    data = file_data(image, node, caps=caps)
    return None if data is None else (wanted, data)
