"""The distro-echo rung: a minimal Debian root filesystem (mmdebstrap) running ``echo``.

mmdebstrap writes the rootfs as a tar, cached under ``~/.cache/imagegolf/ladder`` by the hash of
its command line, so only the first run downloads packages. The tar is then re-written entry by
entry by imagegolf's own OCI writer (sorted, mtime 0): the image bytes depend on the rootfs
contents only.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

from imagegolf import oci
from imagegolf.errors import UsageError
from imagegolf.ladder.shapes import echo_arguments
from imagegolf.ladder.strategy import RungImage
from imagegolf.ladder.tools import BuildFailed, Workbench
from imagegolf.oci.tar_entry import DIRECTORY, FILE, HARDLINK, SYMLINK
from imagegolf.platform import Platform

SUITE = "bookworm"
MIRROR_VARIABLE = "IMAGEGOLF_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
SOURCE_DATE_EPOCH = "1700000000"  # mmdebstrap's reproducible mode: fixed timestamps
# What debian:*-slim leaves out (debuerreotype's slimify): documentation, manuals, translations.
SLIM_EXCLUDES = (
    "/usr/share/doc/*",
    "/usr/share/man/*",
    "/usr/share/info/*",
    "/usr/share/locale/*",
    "/usr/share/lintian/*",
    "/usr/share/linda/*",
)


def mmdebstrap_arguments() -> list[str]:
    """Everything after the program name except the output path."""
    # Without this hook, bookworm's minbase merges /usr by installing usrmerge, which pulls in
    # the whole of perl (about 50 MB); the hook (shipped with mmdebstrap) makes the same links.
    hook = [f"--hook-dir={MERGED_USR_HOOK}"] if os.path.isdir(MERGED_USR_HOOK) else []
    return [
        "--variant=minbase",
        *hook,
        "--skip=output/dev",  # no device nodes: the engine provides /dev
        "--quiet",
        *(f"--dpkgopt=path-exclude={pattern}" for pattern in SLIM_EXCLUDES),
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        SUITE,
    ]


def rootfs_tar(bench: Workbench) -> Path:
    """The cached rootfs tar, made by mmdebstrap on first use."""
    tool = bench.which("mmdebstrap")
    bench.version("mmdebstrap", [tool, "--version"])
    mirror = bench.environ.get(MIRROR_VARIABLE) or DEFAULT_MIRROR
    arguments = mmdebstrap_arguments()
    key = hashlib.sha256("\0".join([*arguments, mirror]).encode()).hexdigest()[:16]
    cached = bench.cache / "ladder" / f"debian-{SUITE}-minbase-slim-{key}.tar"
    if cached.is_file():
        bench.log.append(
            f"# cached rootfs {cached} (from `mmdebstrap {' '.join(arguments)} OUT.tar {mirror}`)"
        )
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}.part.tar")
    try:
        bench.run([tool, *arguments, str(partial), mirror], env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
        os.replace(partial, cached)
    finally:
        partial.unlink(missing_ok=True)
    return cached


def rootfs_entries(path: Path) -> list[oci.TarEntry]:
    """The tar's files, directories and links as entries (devices and FIFOs are dropped)."""
    entries: list[oci.TarEntry] = []
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                entry = _entry(archive, member)
                if entry is not None:
                    entries.append(entry)
    except (OSError, tarfile.TarError) as error:
        raise BuildFailed(f"cannot read the rootfs tar {path}: {error}") from None
    return entries


def _entry(archive: tarfile.TarFile, member: tarfile.TarInfo) -> oci.TarEntry | None:
    path = member.name.removeprefix("./").rstrip("/")
    if not path or path == ".":
        return None
    mode, uid, gid = member.mode & 0o7777, member.uid, member.gid
    if member.isdir():
        return oci.TarEntry(path, DIRECTORY, 0, mode, uid=uid, gid=gid)
    if member.issym():
        return oci.TarEntry(path, SYMLINK, 0, mode, member.linkname, uid, gid)
    if member.islnk():
        return oci.TarEntry(path, HARDLINK, 0, mode, member.linkname.removeprefix("./"), uid, gid)
    if member.isfile():
        stream = archive.extractfile(member)
        data = stream.read() if stream else b""
        return oci.TarEntry(path, FILE, len(data), mode, uid=uid, gid=gid, data=data)
    return None


def distro_echo(message: bytes, platform: Platform, bench: Workbench) -> RungImage:
    if platform.architecture != "amd64":
        raise UsageError(f"distro-echo bootstraps the host's architecture (linux/amd64), not {platform}")
    arguments = echo_arguments(message)
    entries = rootfs_entries(rootfs_tar(bench))
    bench.log.append(f"# {len(entries)} rootfs entries re-written by oci.build_image (sorted, mtime 0)")
    image = oci.build_image(entries, platform, cmd=["echo", *arguments])
    technique = f"Debian {SUITE} minbase (mmdebstrap), docs/man/locales left out like -slim; CMD echo"
    return RungImage(image, technique, bench.log, bench.toolchain)
