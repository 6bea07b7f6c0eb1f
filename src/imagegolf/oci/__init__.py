"""Pure OCI image core: values in, exact bytes out. No files, sockets, subprocesses or clocks."""

from __future__ import annotations

from imagegolf.oci.build import build_image, build_record_image
from imagegolf.oci.config import ImageConfig, build_config, parse_config
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.docker_save import image_from_docker_manifest
from imagegolf.oci.entry import entry_file
from imagegolf.oci.gzip import gunzip, gzip_bytes, iter_gunzip
from imagegolf.oci.image import Image
from imagegolf.oci.layer_read import LayerReading, layer_entries, read_layer
from imagegolf.oci.layout import layout_files
from imagegolf.oci.limits import DEFAULT_CAPS, Budget, Caps
from imagegolf.oci.manifest import Index, Manifest, build_index, build_manifest, parse_index, parse_manifest
from imagegolf.oci.metrics import SizeMetrics, size_metrics
from imagegolf.oci.multi import ImageGroup, as_group, with_shared_index
from imagegolf.oci.resolve import image_from_index
from imagegolf.oci.tar_entry import EntryKind, TarEntry
from imagegolf.oci.tar_read import TarRefused, read_tar
from imagegolf.oci.tar_write import record_layer_tar, write_tar
from imagegolf.oci.validate import validate_image, verify_blob

__all__ = [
    "DEFAULT_CAPS",
    "Budget",
    "Caps",
    "Descriptor",
    "EntryKind",
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
    "gunzip",
    "gzip_bytes",
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
