"""The corpus: hostile and broken images, one per attack (``items``: docs/judge.md #), each with the
verdict the judge must give. ``REJECTED`` cases are decided before anything runs; ``RUN`` cases run on
both engines. docs/judge.md's attack table names these cases.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imagegolf import elf, store
from imagegolf.digest import Digest
from imagegolf.judge import Verdict
from imagegolf.oci import media
from imagegolf.oci.build import build_record_image
from imagegolf.oci.descriptor import Descriptor
from imagegolf.oci.manifest import build_index
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform, Wanted
from tests.archive import busybox_image
from tests.judge import tar_games
from tests.judge.images import (
    PHRASE,
    Parts,
    busybox,
    busybox_layer,
    busybox_parts,
    gzip_bomb,
    index_of,
    member,
    parts,
    tar_layer,
    write_oci_archive,
)

CANARY = "imagegolf-canary"  # hostile images aim at /etc/<CANARY> and /tmp/<CANARY> on the host
ECHO = f"echo {PHRASE}"


@dataclass(frozen=True)
class Case:
    name: str
    items: tuple[int, ...]  # docs/judge.md's attack numbers
    build: Callable[[Path], Path]
    verdict: Verdict
    reason: tuple[str, ...] = ()  # substrings the reason must hold
    runs: int = 1
    platform: Platform | None = None  # the one platform the case is judged for, when it names one
    notes: tuple[str, ...] = ()  # substrings some note must hold
    stdout: bytes | None = None  # what the last run's stdout must be, when it matters
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def platforms(self) -> tuple[Platform, ...]:
        return (self.platform,) if self.platform else ()

    @property
    def wanted(self) -> Wanted:
        return Wanted.named(self.platforms) if self.platforms else Wanted((LINUX_AMD64, LINUX_386))


def _archive(name: str, image: Parts, **kwargs: object) -> Callable[[Path], Path]:
    return lambda d: write_oci_archive(d / f"{name}.tar", image, **kwargs)  # type: ignore[arg-type]


def _script(name: str, script: str, **process: object) -> Callable[[Path], Path]:
    return _archive(name, busybox_parts(script, **process))


def _record(platform: Platform) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        program = elf.build_program(f"{PHRASE}\n".encode(), platform)
        image = build_record_image(program, platform)
        return store.write_dual_tar(
            image, d / f"record-{platform.architecture}.tar", "localhost/igtest/rec:1"
        )

    return build


def _lying_size(d: Path) -> Path:
    return write_oci_archive(d / "lying-size.tar", parts([busybox_layer()], descriptor_extra={"size": 4096}))


def _hash_mismatch(d: Path) -> Path:
    good = parts([busybox_layer()])
    swapped = good.blobs[0][:-1] + b"\x01"  # stored under the digest of the real layer
    path = write_oci_archive(d / "hash-mismatch.tar", good)
    data = path.read_bytes().replace(good.blobs[0], swapped)
    path.write_bytes(data)
    return path


def _attestations_only(d: Path) -> Path:
    # BuildKit marks its provenance manifests so; the judge never takes one for the image.
    image = busybox_parts(None)
    index = build_index([
        Descriptor(media.OCI_MANIFEST, Digest.of(image.manifest), len(image.manifest),
                   platform=Platform("unknown", "unknown"),
                   annotations=(("vnd.docker.reference.type", "attestation-manifest"),)),
    ])  # fmt: skip
    return write_oci_archive(d / "attestations.tar", image, index=index)


def _two_platforms(d: Path) -> Path:
    amd64 = parts([busybox_layer()])  # busybox echo PHRASE
    arm64 = parts([busybox_layer()], platform=LINUX_ARM64)
    index = index_of((amd64, LINUX_AMD64), (arm64, LINUX_ARM64))
    return write_oci_archive(
        d / "two-platforms.tar", amd64, index=index, extra_blobs=(arm64.manifest, arm64.config)
    )


def _index_lies(d: Path) -> Path:
    amd64 = busybox_parts(None)
    return write_oci_archive(d / "index-lies.tar", amd64, index=index_of((amd64, LINUX_ARM64)))


def _bomb(d: Path) -> Path:
    blob, diff_id = gzip_bomb(300 * 1024 * 1024)
    return write_oci_archive(
        d / "bomb.tar", parts([blob], diff_ids=[diff_id], layer_media_type=media.OCI_LAYER_GZIP)
    )


def _small_bombs(d: Path) -> Path:
    # Each layer is a valid 200 MiB tar (under the 256 MiB per-layer cap) from 200 KiB of gzip; three
    # of them pass 512 MiB, the budget for the whole image.
    blob, diff_id = gzip_bomb(200 * 1024 * 1024, true_diff_id=True)
    image = parts([blob] * 4, diff_ids=[diff_id] * 4, layer_media_type=media.OCI_LAYER_GZIP)
    return write_oci_archive(d / "small-bombs.tar", image)


def _layers(count: int) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        tars = [tar_layer(member(f"f{i}", b"x")) for i in range(count)]
        return write_oci_archive(d / f"layers-{count}.tar", parts(tars))

    return build


def _many_files(d: Path) -> Path:
    tar = tar_layer(*(member(f"f{i}", b"", mode=0o644) for i in range(10_001)))
    return write_oci_archive(d / "many-files.tar", parts([tar], compress=True))


def _layer(
    name: str, *members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT
) -> Callable[[Path], Path]:
    return _archive(name, parts([busybox_layer(), tar_layer(*members, fmt=fmt)]))


def _docker_save(d: Path) -> Path:
    path = d / "docker-save.tar"
    path.write_bytes(busybox_image(["/bin/busybox", "echo", PHRASE]))
    return path


def _dynamic_echo(d: Path) -> Path:
    echo = Path("/bin/echo").read_bytes()
    return write_oci_archive(
        d / "host-echo.tar", parts([tar_layer(member("echo", echo))], {"Cmd": ["/echo", PHRASE]})
    )


def _foreign_machine(d: Path) -> Path:
    elf64 = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00" + (0xBEEF).to_bytes(2, "little") + bytes(108)
    return write_oci_archive(d / "foreign.tar", parts([tar_layer(member("a", elf64))], {"Cmd": ["/a"]}))


def _volume_image(d: Path) -> Path:
    layer = tar_layer(member("bin/busybox", busybox()), member("data/", mode=0o777, kind=tarfile.DIRTYPE))
    script = f"echo pwned > /data/x && echo pwned || {ECHO}"
    image = parts([layer], {"Cmd": ["/bin/busybox", "sh", "-c", script], "Volumes": {"/data": {}}})
    return write_oci_archive(d / "volumes.tar", image)


def _absolute_names(d: Path) -> Path:
    layer = tar_layer(member("/bin/busybox", busybox()), member(f"/etc/{CANARY}", b"x", mode=0o644))
    return write_oci_archive(d / "absolute-names.tar", parts([layer]))


# A script that prints only in even seconds of the host's uptime, and then sleeps into the next
# (odd) second, so that the next run cannot print: flaky by construction, for any start time.
FLAKY = (
    "read up idle < /proc/uptime; s=${up%.*}; c=${up#*.}; "
    f"if [ $((s % 2)) -eq 0 ]; then {ECHO}; usleep $(( (210 - 1$c) * 10000 )); fi"
)

REJECTED: list[Case] = [
    # docs/judge.md #29: the config says linux/amd64, the command is an ELF for another machine.
    Case(
        "elf-machine-lies",
        (5, 29),
        _foreign_machine,
        Verdict.REJECTED_IMAGE,
        ("says linux/amd64", "e_machine 48879, not 62"),
    ),
    Case(
        "foreign-platform-not-asked",
        (5, 29),
        _record(LINUX_ARM64),
        Verdict.REJECTED_IMAGE,
        ("runs only through emulation", "the judging settings name the platform linux/arm64/v8"),
    ),
    Case("lying-descriptor-size", (4,), _lying_size, Verdict.REJECTED_IMAGE, ("descriptor says 4096",)),
    Case("blob-hash-mismatch", (4,), _hash_mismatch, Verdict.REJECTED_IMAGE, ("content is sha256:",)),
    Case(
        "foreign-layer-urls",
        (4,),
        _archive("urls", parts([busybox_layer()], descriptor_extra={"urls": ["http://127.0.0.1:9/l"]})),
        Verdict.REJECTED_IMAGE,
        ("foreign layer",),
    ),
    Case(
        "unknown-media-type",
        (4,),
        _archive("media", parts([busybox_layer()], layer_media_type="application/x-evil")),
        Verdict.REJECTED_IMAGE,
        ("application/x-evil",),
    ),
    Case(
        "wrong-diff-ids",
        (4,),
        _archive("diff", parts([busybox_layer()], diff_ids=["sha256:" + "0" * 64])),
        Verdict.REJECTED_IMAGE,
        ("diff_id",),
    ),
    Case("index-of-attestations", (5, 29), _attestations_only, Verdict.REJECTED_IMAGE, ("holds no image",)),
    Case(
        "wrong-platform-asked",
        (5,),
        _archive("amd64", busybox_parts(None)),
        Verdict.REJECTED_IMAGE,
        ("linux/arm64",),
        platform=LINUX_ARM64,
    ),
    Case(
        "index-platform-lies",
        (5,),
        _index_lies,
        Verdict.REJECTED_IMAGE,
        ("linux/arm64", "linux/amd64"),
        platform=LINUX_AMD64,
    ),
    Case("decompression-bomb", (6,), _bomb, Verdict.REJECTED_IMAGE, ("decompressed size",)),
    Case(
        "bombs-under-each-cap",
        (6,),
        _small_bombs,
        Verdict.REJECTED_IMAGE,
        ("decompressed size of the image", "more than the cap of 536870912"),
    ),
    Case(
        "sparse-file",
        (6,),
        _layer("sparse", member("s", kind=tarfile.GNUTYPE_SPARSE), fmt=tarfile.GNU_FORMAT),
        Verdict.REJECTED_IMAGE,
        ("sparse",),
    ),
    Case("too-many-files", (6,), _many_files, Verdict.REJECTED_IMAGE, ("number of tar entries",)),
    Case(
        "path-too-long",
        (6,),
        _layer("long", member("d/" * 2100 + "f", b"x")),
        Verdict.REJECTED_IMAGE,
        ("path length",),
    ),
    Case("300-layers", (7,), _layers(300), Verdict.REJECTED_IMAGE, ("number of layers",)),
    Case(
        "huge-config",
        (8,),
        _archive("config", parts([busybox_layer()], {"Cmd": ["/a"], "Env": ["X=" + "x" * 100_000]})),
        Verdict.REJECTED_IMAGE,
        ("config",),
    ),
    Case(
        "huge-manifest",
        (8,),
        _archive("manifest", parts([busybox_layer()], manifest_extra={"annotations": {"a": "x" * 100_000}})),
        Verdict.REJECTED_IMAGE,
        ("manifest",),
    ),
    Case(
        "dotdot-path",
        (9,),
        _layer("dotdot", member(f"../../tmp/{CANARY}", b"x")),
        Verdict.REJECTED_IMAGE,
        ("'..'",),
    ),
    Case(
        "symlink-escape",
        (10,),
        _layer("symlink", member("x", kind=tarfile.SYMTYPE, link="/etc"), member(f"x/{CANARY}", b"x")),
        Verdict.REJECTED_IMAGE,
        ("lies under /x, which this layer made a symlink",),
    ),
    Case(
        "symlink-climbs-out",
        (10,),
        _layer("climb", member("x", kind=tarfile.SYMTYPE, link="../../../etc")),
        Verdict.REJECTED_IMAGE,
        ("climbs out",),
    ),
    Case(
        "hardlink-to-host",
        (11,),
        _layer("hardlink", member("h", kind=tarfile.LNKTYPE, link="/etc/shadow")),
        Verdict.REJECTED_IMAGE,
        ("`h`) is a hard link to /etc/shadow",),
    ),
    Case(
        "device-node",
        (12,),
        _layer("device", member("null", kind=tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)),
        Verdict.REJECTED_IMAGE,
        ("device node",),
    ),
    Case(
        "fifo",
        (12,),
        _layer("fifo", member("pipe", kind=tarfile.FIFOTYPE, mode=0o666)),
        Verdict.REJECTED_IMAGE,
        ("FIFO",),
    ),
    Case(
        "dev-symlink",
        (14,),
        _layer("dev", member("dev", kind=tarfile.SYMTYPE, link="/tmp")),
        Verdict.REJECTED_IMAGE,
        ("/dev",),
    ),
    Case(
        "proc-entries", (14,), _layer("proc", member("proc/self/x", b"x")), Verdict.REJECTED_IMAGE, ("/proc",)
    ),
    Case(
        "etc-hosts-directory",
        (14,),
        _layer("hosts-dir", member("etc/hosts/x", b"x")),
        Verdict.REJECTED_IMAGE,
        ("makes /etc/hosts a directory",),
    ),
    Case(
        "etc-hosts-symlink",
        (14,),
        _layer("hosts", member("etc/hosts", kind=tarfile.SYMTYPE, link="/proc/1/environ")),
        Verdict.REJECTED_IMAGE,
        ("mounts a file or directory there",),
    ),
    Case(
        "volume-in-proc",
        (16,),
        _script("volproc", ECHO, Volumes={"/proc/sys": {}}),
        Verdict.REJECTED_IMAGE,
        ("Volume '/proc/sys'",),
    ),
]

RUN: list[Case] = [
    # docs/judge.md #29: of an index, the judge takes what `docker pull` on its host would.
    Case(
        "index-takes-the-host-platform",
        (5, 29),
        _two_platforms,
        Verdict.ACCEPTED,
        extra={"chosen": "linux/amd64: the first of the wanted platforms (linux/amd64, linux/386)"},
    ),
    Case(
        "setuid-file",
        (13,),
        _layer("setuid", member("su", b"x", mode=0o4755)),
        Verdict.ACCEPTED,
        notes=("setuid/setgid file(s) such as /su",),
    ),
    Case(
        "setgid-file",
        (13,),
        _layer("setgid", member("sg", b"x", mode=0o2755)),
        Verdict.ACCEPTED,
        notes=("setuid/setgid file(s) such as /sg",),
    ),
    Case("docker-save-archive", (), _docker_save, Verdict.ACCEPTED, notes=("holds no manifest",)),
    Case("record-386", (), _record(LINUX_386), Verdict.ACCEPTED, stdout=f"{PHRASE}\n".encode()),
    Case("record-arm64-through-binfmt", (5,), _record(LINUX_ARM64), Verdict.ACCEPTED, platform=LINUX_ARM64),
    Case(
        "host-echo",
        (),
        _dynamic_echo,
        Verdict.START_FAILED,
        ("/lib64/ld-linux-x86-64.so.2", "dynamically linked"),
    ),
    Case(
        "not-executable",
        (),
        _archive("noexec", parts([tar_layer(member("bin/busybox", busybox(), mode=0o644))])),
        Verdict.START_FAILED,
        ("mode 0644",),
    ),
    Case(
        "no-such-entrypoint",
        (),
        _script("missing", ECHO, Cmd=["/nope"]),
        Verdict.START_FAILED,
        ("/nope is not in the image",),
    ),
    Case(
        "no-command",
        (),
        _archive("nocmd", parts([busybox_layer()], {})),
        Verdict.START_FAILED,
        ("no command",),
    ),
    Case("absolute-member-names", (9,), _absolute_names, Verdict.ACCEPTED),
    Case(
        "workdir-proc-self-fd",
        (15,),
        _script("workdir", f'[ "$(pwd)" = / ] && {ECHO}', WorkingDir="/proc/self/fd"),
        Verdict.ACCEPTED,
        notes=("WorkingDir '/proc/self/fd' is ignored",),
    ),
    Case(
        "volumes",
        (16,),
        _volume_image,
        Verdict.ACCEPTED,
        notes=("Volumes /data are not created",),
        stdout=f"{PHRASE}\n".encode(),
    ),
    Case(
        "user-0",
        (17,),
        _script("user0", f'[ "$(id -u)" = 65534 ] && {ECHO}', User="0"),
        Verdict.ACCEPTED,
        notes=("User '0' is ignored",),
    ),
    Case(
        "privileged-in-config",
        (18,),
        _script(
            "priv",
            "grep -q 'CapEff:.0000000000000000' /proc/self/status && "
            f'[ "$(ls /sys/class/net)" = lo ] && {ECHO}',
            HostConfig={"Privileged": True, "NetworkMode": "host", "Devices": [{"PathOnHost": "/dev/sda"}]},
        ),
        Verdict.ACCEPTED,
        notes=("HostConfig",),
    ),
    Case(
        "healthcheck-prints",
        (19,),
        _script(
            "health",
            "sleep 1",
            Healthcheck={"Test": ["CMD", "/bin/busybox", "echo", PHRASE], "Interval": 100_000_000},
        ),
        Verdict.NO_OUTPUT,
        notes=("Healthcheck is ignored",),
    ),
    Case(
        "stopsignal-ignores-term",
        (19, 24),
        _script("stopsig", f"trap '' TERM; {ECHO}; sleep 30", StopSignal="SIGCONT"),
        Verdict.TIMEOUT,
        ("had printed the phrase",),
        notes=("StopSignal is ignored",),
    ),
    Case(
        "phrase-in-entrypoint",
        (20,),
        _script("entrypoint", ECHO, Entrypoint=[PHRASE], Cmd=None),
        Verdict.START_FAILED,
        ("not a path",),
        stdout=b"",
    ),
    Case(
        "exit-126-after-printing",
        (20,),
        _script("exit126", f"{ECHO}; exit 126"),
        Verdict.START_FAILED,
        ("126",),
    ),
    Case("stderr-only", (21,), _script("stderr", f"{ECHO} >&2"), Verdict.NO_OUTPUT, ("stderr",)),
    Case(
        "carriage-return",
        (22,),
        _script("cr", f"printf 'wrong\\r{PHRASE}\\n'"),
        Verdict.WRONG_OUTPUT,
        ("CARRIAGE RETURN",),
    ),
    Case(
        "ansi-hidden-text",
        (22,),
        _script("ansi", f"printf '\\033[8m{PHRASE}\\033[0m\\n'"),
        Verdict.WRONG_OUTPUT,
        ("ESCAPE",),
    ),
    Case(
        "lookalike-cyrillic",
        (22,),
        _script("lookalike", "printf 'h\\320\\265llo IDBS engineering\\n'"),
        Verdict.WRONG_OUTPUT,
        ("CYRILLIC SMALL LETTER IE",),
    ),
    Case("endless-stdout", (23,), _script("yes", f"yes {PHRASE}"), Verdict.OUTPUT_LIMIT, ("stdout",)),
    Case("endless-stderr", (23,), _script("yes-err", f"{ECHO}; yes >&2"), Verdict.OUTPUT_LIMIT, ("stderr",)),
    Case(
        "sleep-after-print",
        (24,),
        _script("sleep", f"{ECHO}; sleep 30"),
        Verdict.TIMEOUT,
        ("had printed the phrase",),
    ),
    # The pids limit (32) stops the loop: busybox sh cannot fork and gives up with status 2.
    Case(
        "fork-bomb",
        (25,),
        _script("fork", f"{ECHO}; while :; do sleep 10 & done"),
        Verdict.RUNTIME_ERROR,
        ("status 2",),
        extra={"stderr": b"can't fork"},
    ),
    Case(
        "memory-bomb",
        (25,),
        _script("memory", f"{ECHO}; x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"),
        Verdict.MEMORY_LIMIT,
        ("memory limit is 64 MiB",),
    ),
    Case("cpu-hog", (25,), _script("cpu", f"{ECHO}; while :; do :; done"), Verdict.TIMEOUT),
    Case("flaky", (27,), _script("flaky", FLAKY), Verdict.NO_OUTPUT, runs=3),
    Case("runtime-error", (), _script("exit3", f"{ECHO}; exit 3"), Verdict.RUNTIME_ERROR, ("status 3",)),
    Case("wrong-output", (), _script("wrong", "echo goodbye"), Verdict.WRONG_OUTPUT, ("does not contain",)),
]
# docs/judge.md #28: every construct tar readers disagree on (tests/judge/tar_games.py) is refused.
REJECTED += [
    Case(f"tar-{game.name}", (28,), _archive(f"tar-{game.name}", parts([tar_games.layer(game)],
         {"Cmd": tar_games.PHRASE_CMD})), Verdict.REJECTED_IMAGE, game.reason)
    for game in tar_games.GAMES
]  # fmt: skip
