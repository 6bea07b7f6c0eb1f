"""Docker-archive tars for tests, written with Python's tarfile (independent of imagegolf.oci)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile


def docker_archive(files: dict[str, tuple[bytes, int]], config: dict[str, object], tag: str) -> bytes:
    """One-layer ``docker save``-style tar: files maps path -> (bytes, mode)."""
    layer_io = io.BytesIO()
    with tarfile.open(fileobj=layer_io, mode="w", format=tarfile.USTAR_FORMAT) as layer:
        for path, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), mode
            layer.addfile(info, io.BytesIO(data))
    layer_bytes = layer_io.getvalue()
    layer_id = hashlib.sha256(layer_bytes).hexdigest()
    full_config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
        **config,
    }
    config_bytes = json.dumps(full_config).encode()
    config_id = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{"Config": f"{config_id}.json", "RepoTags": [tag], "Layers": [f"{layer_id}/layer.tar"]}]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in (
            (f"{config_id}.json", config_bytes),
            (f"{layer_id}/layer.tar", layer_bytes),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def busybox_image(cmd: list[str], tag: str = "localhost/igtest-busybox:1", **config: object) -> bytes:
    """Debian's static busybox at /bin/busybox, running ``cmd`` (no shell unless cmd asks)."""
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    return docker_archive({"bin/busybox": (busybox, 0o755)}, {"config": {"Cmd": cmd, **config}}, tag)
