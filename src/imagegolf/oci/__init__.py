"""Pure OCI image core: values in, exact bytes out. No files, sockets, subprocesses or clocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegolf import lazy

# Each name loads its module on first use (imagegolf/lazy.py): a build needs the writers only.
if TYPE_CHECKING:
    from imagegolf.oci.build import build_image, build_record_image
    from imagegolf.oci.config import ImageConfig, build_config, parse_config
    from imagegolf.oci.descriptor import Descriptor
    from imagegolf.oci.docker_save import image_from_docker_manifest
    from imagegolf.oci.entry import entry_file
    from imagegolf.oci.filesystem import Filesystem, file_data, image_filesystem
    from imagegolf.oci.gzip import gunzip, gzip_bytes, iter_gunzip
    from imagegolf.oci.image import Image
    from imagegolf.oci.layer_read import LayerReading, layer_entries, read_layer
    from imagegolf.oci.layout import layout_files
    from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps
    from imagegolf.oci.manifest import (
        Index,
        Manifest,
        build_index,
        build_manifest,
        parse_index,
        parse_manifest,
    )
    from imagegolf.oci.metrics import SizeMetrics, size_metrics
    from imagegolf.oci.multi import ImageGroup, as_group, with_shared_index
    from imagegolf.oci.resolve import image_from_index
    from imagegolf.oci.tar_entry import EntryKind, TarEntry
    from imagegolf.oci.tar_read import TarRefused, read_tar
    from imagegolf.oci.tar_write import record_layer_tar, write_tar
    from imagegolf.oci.validate import validate_image, verify_blob

HOMES = {
    "Budget": "imagegolf.oci.limits",
    "Caps": "imagegolf.oci.limits",
    "DEFAULT_CAPS": "imagegolf.oci.limits",
    "Descriptor": "imagegolf.oci.descriptor",
    "EntryKind": "imagegolf.oci.tar_entry",
    "Filesystem": "imagegolf.oci.filesystem",
    "Image": "imagegolf.oci.image",
    "ImageConfig": "imagegolf.oci.config",
    "ImageGroup": "imagegolf.oci.multi",
    "Index": "imagegolf.oci.manifest",
    "LayerReading": "imagegolf.oci.layer_read",
    "Manifest": "imagegolf.oci.manifest",
    "SizeMetrics": "imagegolf.oci.metrics",
    "TarEntry": "imagegolf.oci.tar_entry",
    "TarRefused": "imagegolf.oci.tar_read",
    "as_group": "imagegolf.oci.multi",
    "build_config": "imagegolf.oci.config",
    "build_image": "imagegolf.oci.build",
    "build_index": "imagegolf.oci.manifest",
    "build_manifest": "imagegolf.oci.manifest",
    "build_record_image": "imagegolf.oci.build",
    "entry_file": "imagegolf.oci.entry",
    "file_data": "imagegolf.oci.filesystem",
    "gunzip": "imagegolf.oci.gzip",
    "gzip_bytes": "imagegolf.oci.gzip",
    "image_filesystem": "imagegolf.oci.filesystem",
    "image_from_docker_manifest": "imagegolf.oci.docker_save",
    "image_from_index": "imagegolf.oci.resolve",
    "iter_gunzip": "imagegolf.oci.gzip",
    "layer_entries": "imagegolf.oci.layer_read",
    "layout_files": "imagegolf.oci.layout",
    "parse_config": "imagegolf.oci.config",
    "parse_index": "imagegolf.oci.manifest",
    "parse_manifest": "imagegolf.oci.manifest",
    "read_layer": "imagegolf.oci.layer_read",
    "read_tar": "imagegolf.oci.tar_read",
    "record_layer_tar": "imagegolf.oci.tar_write",
    "size_metrics": "imagegolf.oci.metrics",
    "validate_image": "imagegolf.oci.validate",
    "verify_blob": "imagegolf.oci.validate",
    "with_shared_index": "imagegolf.oci.multi",
    "write_tar": "imagegolf.oci.tar_write",
}
__getattr__ = lazy.exports(__name__, HOMES)

__all__ = [
    "DEFAULT_CAPS",
    "Budget",
    "Caps",
    "Descriptor",
    "EntryKind",
    "Filesystem",
    "Image",
    "ImageConfig",
    "ImageGroup",
    "Index",
    "LayerReading",
    "Manifest",
    "SizeMetrics",
    "TarEntry",
    "TarRefused",
    "as_group",
    "build_config",
    "build_image",
    "build_index",
    "build_manifest",
    "build_record_image",
    "entry_file",
    "file_data",
    "gunzip",
    "gzip_bytes",
    "image_filesystem",
    "image_from_docker_manifest",
    "image_from_index",
    "iter_gunzip",
    "layer_entries",
    "layout_files",
    "parse_config",
    "parse_index",
    "parse_manifest",
    "read_layer",
    "read_tar",
    "record_layer_tar",
    "size_metrics",
    "validate_image",
    "verify_blob",
    "with_shared_index",
    "write_tar",
]
