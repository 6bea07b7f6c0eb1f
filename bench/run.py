"""Benchmarks: run side by side in one process, compared as ratios, written to docs/benchmarks.md.

.venv/bin/python -m bench.run --write docs/benchmarks.md     (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import datetime
import platform as host_platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from imagegolf import elf, oci, store
from imagegolf.engine.podman_service import runtime_flags
from imagegolf.oci.build import READABLE_RECORD_MODE, RECORD_NAME
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64, Platform

ROOT = Path(__file__).resolve().parent.parent
IMAGEGOLF = str(ROOT / ".venv" / "bin" / "imagegolf")
RECORD_MESSAGE = b"Hi IDBS Engineering! RE\n"
DEFAULT_MESSAGE = b"hello IDBS engineering\n"


def _median_ms(action: Callable[[], None], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def bench_every_platform() -> list[str]:
    """`build --platform all`: the ELF per platform beside docker's hello-world binary."""
    message = b"hello IDBS engineering\n"
    images = [oci.build_record_image(elf.build_program(message, p), p) for p in elf.platforms()]
    group = oci.with_shared_index(images)
    index = group[0].index or b""
    lines = [
        "## Every platform: `build --platform all` (one OCI index)",
        "",
        f"Message {message!r} ({len(message)} bytes). The index over all {len(group)} platform images is "
        f"{len(index)} bytes; a pull of one platform downloads the index, its manifest, config and layer. "
        "docker-library/hello-world's amd64 binary (C + musl, static) is 10,072 bytes; its "
        "other per-platform binaries were not available offline to measure here.",
        "",
        "| platform | ELF bytes (portable) | floor (docs/elf.md) | pull bytes of this platform "
        "| hello-world binary |",
        "|---|---:|---|---:|---:|",
    ]
    floors = {"386": "48 + len with exit 0; 46 + len: any-exit",
              "amd64": "72 + len (ET_EXEC); 69 + len: record", "arm64": "best found 112 + len",
              "arm": "64 + len", "riscv64": "112 + len", "ppc64le": "best found 120 + len",
              "s390x": "118 + len", "mips64le": "112 + len"}  # fmt: skip
    for image in group:
        arch = image.platform.architecture
        metrics = oci.size_metrics(image)
        hello = "10,072" if arch == "amd64" else "–"
        size, pulled = str(metrics.docker_classic), str(metrics.pull_bytes)
        cells = (str(image.platform), size, floors[arch], pulled, hello)
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def bench_build_vs_podman(runs: int) -> list[str]:
    """`imagegolf build -o` against `podman build` of FROM scratch + COPY of the same ELF."""
    work = Path(tempfile.mkdtemp(prefix="igbench-"))
    program = elf.build_program(DEFAULT_MESSAGE, LINUX_386, elf.Mode.EMBED, elf.Profile.PORTABLE)
    (work / "a").write_bytes(program)
    (work / "a").chmod(0o755)
    (work / "Containerfile").write_text('FROM scratch\nCOPY a /a\nCMD ["/a"]\n')
    store_flags = [
        "--root",
        str(work / "root"),
        "--runroot",
        str(work / "run"),
        "--storage-driver",
        "overlay",
    ]
    podman = ["podman", *store_flags, *runtime_flags()]

    def ours() -> None:
        subprocess.run([IMAGEGOLF, "build", "-o", str(work / "out.tar")], check=True, capture_output=True)

    def theirs() -> None:
        subprocess.run(
            [
                *podman,
                "build",
                "-q",
                "--platform",
                "linux/386",
                "-t",
                "localhost/bench:1",
                "-f",
                str(work / "Containerfile"),
                str(work),
            ],
            check=True,
            capture_output=True,
        )

    def in_process() -> None:
        image = oci.build_record_image(
            elf.build_program(DEFAULT_MESSAGE, LINUX_386, elf.Mode.EMBED, elf.Profile.PORTABLE), LINUX_386
        )
        store.write_dual_tar(image, work / "lib.tar", "localhost/imagegolf:latest")

    ours()
    theirs()  # warm both once: caches, page cache
    in_process()
    ours_ms, _ = _median_ms(ours, runs)
    theirs_ms, _ = _median_ms(theirs, runs)
    lib_ms, _ = _median_ms(in_process, runs)
    subprocess.run([*podman, "system", "reset", "--force"], capture_output=True)
    subprocess.run(["umount", "-R", str(work / "root")], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    return [
        "## Build time: `imagegolf build` vs `podman build`",
        "",
        f"Median wall time over {runs} runs each, one process each time (the same 386 ELF; podman "
        'builds `FROM scratch`, `COPY a /a`, `CMD ["/a"]` into a private store).',
        "",
        "| tool | median ms | speed-up vs podman build |",
        "|---|---:|---:|",
        f"| `podman build` | {theirs_ms:.1f} | 1.00 |",
        f"| `imagegolf build -o out.tar` (new process) | {ours_ms:.1f} | {theirs_ms / ours_ms:.2f} |",
        f"| imagegolf build in-process (library call) | {lib_ms:.1f} | {theirs_ms / lib_ms:.2f} |",
        "",
        f"The `imagegolf build` command is **{theirs_ms / ours_ms:.1f}×** faster than `podman build` "
        f"(target ≥ 3×); building the image itself takes {lib_ms:.1f} ms, the rest of the command is "
        "the Python interpreter starting and importing the standard library (argparse, dataclasses, "
        "hashlib, re: ~35 ms here).",
        "",
    ]


def bench_sizes() -> list[str]:
    """File bytes per platform/mode/profile and the record image's five metrics."""
    combos: list[tuple[Platform, str, str]] = [
        (p, mode.value, profile.value)
        for p in (LINUX_386, LINUX_AMD64, LINUX_ARM64)
        for mode, profile in elf.supported_modes(p)
        if profile is not elf.Profile.MODERN  # an older name for portable's bytes
    ]
    combos += [
        (p, "embed", "portable") for p in elf.platforms() if p not in (LINUX_386, LINUX_AMD64, LINUX_ARM64)
    ]
    lines = [
        "## ELF bytes per platform, mode and profile",
        "",
        f"Message {RECORD_MESSAGE!r} ({len(RECORD_MESSAGE)} bytes, the seed's record) and "
        f"{DEFAULT_MESSAGE!r} ({len(DEFAULT_MESSAGE)} bytes). In argv mode the message is in CMD, "
        "not in the file. The layout is the one the profile chooses for the 24-byte message "
        "(docs/elf.md says what each relies on); `modern` builds portable's bytes, and on the "
        "platforms listed with portable only, record and any-exit build portable's bytes too.",
        "",
        "| platform | mode | profile | layout | ELF bytes (24-byte msg) | overhead | ELF bytes (23-byte msg) "
        "| pull bytes | podman |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for plat, mode, profile in combos:
        row = []
        for message in (RECORD_MESSAGE, DEFAULT_MESSAGE):
            program = elf.build_program(message, plat, elf.Mode(mode), elf.Profile(profile))
            row.append(len(program))
        args = [RECORD_MESSAGE.decode()] if mode == "argv" else []
        choice = elf.plan(RECORD_MESSAGE, plat, elf.Mode(mode), elf.Profile(profile))
        if profile == "gvisor":  # as `imagegolf build --profile gvisor`: a readable file (cli/build.py)
            entry = oci.TarEntry.file(RECORD_NAME, choice.program, READABLE_RECORD_MODE)
            image = oci.build_image([entry], plat, cmd=["/" + RECORD_NAME, *args])
        else:
            image = oci.build_record_image(choice.program, plat, args=args)
        metrics = oci.size_metrics(image)
        overhead = row[0] - (len(RECORD_MESSAGE) if mode == "embed" else 0)
        lines.append(
            f"| {plat} | {mode} | {profile} | `{choice.layout.name}` | {row[0]} | {overhead} | {row[1]} | "
            f"{metrics.pull_bytes} | {metrics.podman} |"
        )
    program = elf.build_program(RECORD_MESSAGE, LINUX_386, elf.Mode.EMBED, elf.Profile.PORTABLE)
    image = oci.build_record_image(program, LINUX_386)
    m = oci.size_metrics(image)
    lines += [
        "",
        "## The 386 record image, byte by byte",
        "",
        "| part | bytes |",
        "|---|---:|",
        f"| manifest | {len(image.manifest_bytes)} |",
        f"| config | {len(image.config_bytes)} |",
        f"| layer (gzip of the tar) | {len(image.layers[0])} |",
        f"| **pull bytes** (target ≤ 650) | **{m.pull_bytes}** |",
        "",
        "| metric | bytes |",
        "|---|---:|",
        *(f"| {k} | {v} |" for k, v in m.as_dict().items()),
        "",
    ]
    return lines


def bench_push_vs_skopeo(runs: int) -> list[str]:
    """`imagegolf push` against `skopeo copy oci:… docker://…` of the same layout, same registry."""
    from tests.registry_services import DistributionRegistry

    work = Path(tempfile.mkdtemp(prefix="igbench-"))
    program = elf.build_program(DEFAULT_MESSAGE, LINUX_386, elf.Mode.EMBED, elf.Profile.PORTABLE)
    image = oci.build_record_image(program, LINUX_386)
    store.write_dual_tar(image, work / "record.tar", "localhost/imagegolf:latest")
    store.write_oci_dir(image, work / "layout", "localhost/imagegolf:latest")
    registry = DistributionRegistry("open").start()
    counter = iter(range(10_000))
    try:

        def ours() -> None:
            ref = f"{registry.host}/bench/ours{next(counter)}:1"  # a new repository: every blob uploads
            subprocess.run(
                [IMAGEGOLF, "push", str(work / "record.tar"), ref], check=True, capture_output=True
            )

        def theirs() -> None:
            ref = f"{registry.host}/bench/skopeo{next(counter)}:1"
            subprocess.run(
                [
                    "skopeo",
                    "copy",
                    "-q",
                    "--dest-tls-verify=false",
                    f"oci:{work / 'layout'}:latest",
                    f"docker://{ref}",
                ],
                check=True,
                capture_output=True,
            )

        from imagegolf.registry import open_registry

        client = open_registry(registry.host, env={})

        def in_process() -> None:
            client.push_image(f"bench/lib{next(counter)}", image, "1")

        ours()
        theirs()
        in_process()
        ours_ms, _ = _median_ms(ours, runs)
        theirs_ms, _ = _median_ms(theirs, runs)
        lib_ms, _ = _median_ms(in_process, runs)
        client.close()
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    return [
        "## Push time: `imagegolf push` vs `skopeo copy`",
        "",
        f"Median wall time over {runs} runs each of pushing the 386 record image (623 pull bytes) to a "
        "fresh repository of the same local `docker-registry` (Debian, distribution 2.8) on 127.0.0.1; "
        "`skopeo copy` reads the same image from an OCI layout directory.",
        "",
        "| tool | median ms | speed-up vs skopeo copy |",
        "|---|---:|---:|",
        f"| `skopeo copy oci:… docker://…` | {theirs_ms:.1f} | 1.00 |",
        f"| `imagegolf push record.tar …` (new process) | {ours_ms:.1f} | {theirs_ms / ours_ms:.2f} |",
        f"| imagegolf push in-process (one client, 8 requests) | {lib_ms:.1f} | {theirs_ms / lib_ms:.2f} |",
        "",
        "The protocol work itself is the in-process row; the command also pays for starting Python and "
        "importing `requests` (about 90 ms of its time here), which a Go binary like skopeo does not.",
        "",
    ]


def bench_judge_vs_loop(reps: int) -> list[str]:
    """`imagegolf judge` on 20 tiny images against the loop a person would script with podman."""
    from imagegolf.engine import RunSpec
    from imagegolf.engine.discovery import private_podman
    from imagegolf.judge import JudgeOptions, judge_one
    from imagegolf.judge.sources import local_fetch

    work = Path(tempfile.mkdtemp(prefix="igbench-"))
    phrase = "hello IDBS engineering"
    tars = []
    for n in range(20):  # 20 distinct images: the phrase plus a number
        message = f"{phrase} {n}\n".encode()
        image = oci.build_record_image(elf.build_program(message, LINUX_386), LINUX_386)
        tars.append(str(store.write_dual_tar(image, work / f"e{n}.tar", f"localhost/bench/e{n}:1")))
    loop = work / "loop.sh"
    loop.write_text(
        "set -e\n"
        'for tar in "$@"; do\n'
        "  name=$(podman load -q -i \"$tar\" | sed -n 's/^Loaded image: //p' | head -1)\n"
        "  for run in 1 2 3; do\n"
        f"    podman run --rm --network=none \"$name\" | grep -qi '{phrase}'\n"
        "  done\n"
        '  podman rmi -f "$name" >/dev/null\n'
        "done\n"
    )

    def ours() -> None:
        subprocess.run(
            [IMAGEGOLF, "judge", *tars, "--phrase", phrase, "--json"], check=True, capture_output=True
        )

    def theirs() -> None:
        subprocess.run(["bash", str(loop), *tars], check=True, capture_output=True)

    try:
        ours_ms, _ = _median_ms(ours, reps)
        theirs_ms, _ = _median_ms(theirs, reps)
        one_ms, _ = _median_ms(
            lambda: subprocess.run(
                [IMAGEGOLF, "judge", tars[0], "--phrase", phrase], check=True, capture_output=True
            ),
            5,
        )
        options = JudgeOptions(phrase=phrase, runs=3, spec=RunSpec())
        with private_podman() as engine:
            judge_one(tars[0], fetch=local_fetch, engine=engine, options=options)  # warm
            warm_ms, _ = _median_ms(
                lambda: judge_one(tars[1], fetch=local_fetch, engine=engine, options=options), 5
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        "## Judge: `imagegolf judge` vs a scripted podman loop",
        "",
        f"20 tiny images (386 record images with distinct messages), 3 runs each, median of {reps} "
        "repetitions. The loop is what a person would script: `podman load`, then 3× `podman run "
        "--rm --network=none … | grep -qi PHRASE`, then `podman rmi`. `imagegolf judge` does every "
        "check of docs/judge.md on top (stage-1 screening, the hardened run spec, capped streams, the "
        "five metrics), starts its own podman service, and judges two images at a time (`--jobs 2`, "
        "the default; each image's runs stay sequential).",
        "",
        "| what | median ms | speed-up vs the loop |",
        "|---|---:|---:|",
        f"| podman loop, 20 images | {theirs_ms:.0f} | 1.00 |",
        f"| `imagegolf judge` 20 images (one process) | {ours_ms:.0f} | {theirs_ms / ours_ms:.2f} |",
        "",
        "Single-image latency (3 runs, median of 5; target ≤ 1 s):",
        "",
        "| what | median ms |",
        "|---|---:|",
        f"| `imagegolf judge one.tar` (new process, starts podman's service) | {one_ms:.0f} |",
        f"| judge_one on a running engine (how a contest worker judges) | {warm_ms:.0f} |",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", metavar="FILE", help="write the markdown report here")
    args = parser.parse_args()
    report = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`.venv/bin/python -m bench.run --write docs/benchmarks.md`) on "
        f"{datetime.date.today()}, {host_platform.machine()}, Python {host_platform.python_version()}. "
        "`make bench` then runs `bench.reliability`: the contest's job queue under failures, "
        "[docs/reliability.md](reliability.md).",
        "",
        *bench_sizes(),
        *bench_every_platform(),
        *bench_build_vs_podman(args.runs),
        *bench_push_vs_skopeo(args.runs),
        *bench_judge_vs_loop(5),
    ]
    text = "\n".join(report) + "\n"
    if args.write:
        Path(args.write).write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
