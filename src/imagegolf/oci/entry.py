"""The file an image runs, found in its layers (what `explain` and the contest's detail page show)."""

from __future__ import annotations

from imagegolf.oci.image import Image
from imagegolf.oci.layers import layer_entries


def entry_file(image: Image) -> tuple[str, bytes] | None:
    """(path, bytes) of the first word of Entrypoint+Cmd, as the last layer holding it has it."""
    argv = image.config.argv
    if not argv:
        return None
    wanted = argv[0].lstrip("/")
    found: tuple[str, bytes] | None = None
    for descriptor, layer in zip(image.manifest.layers, image.layers, strict=True):
        for entry in layer_entries(layer, descriptor.media_type, keep_data=True):
            if entry.path.lstrip("/") == wanted and entry.data is not None:
                found = (entry.path, entry.data)
    return found
