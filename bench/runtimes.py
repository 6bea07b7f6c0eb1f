"""What gVisor costs: the same tiny image run and judged under runc and under runsc, side by side.

    .venv/bin/python -m bench.runtimes --write docs/benchmarks.md

Starts its own dockerd (runsc registered as in scripts/setup.sh, plus runsc's ptrace platform to
compare) and imagegolf's own podman services (one per runtime), as root. The image is a 176-byte
clean amd64 ELF (every loader takes it: tests/judge/test_gvisor.py ``clean_elf``) in one layer.
"""

from __future__ import annotations

import argparse
import datetime
import platform as host_platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.judge.images import PHRASE
from tests.judge.test_gvisor import MESSAGE, clean_elf, image_of
from tests.services import Dockerd, require

from bench.report import replace_section
from imagegolf.engine import Engine, RunSpec, connect
from imagegolf.engine.discovery import private_podman
from imagegolf.engine.runtimes import RUNSC_FLAGS
from imagegolf.judge import JudgeOptions, judge_one
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from imagegolf.store.write import dual_tar_bytes

SECTION = "## Runtimes: runc vs runsc (gVisor)"
NAME = "localhost/bench-runtime:1"


def _median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm: page cache, the engine's first container
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _docker_run(dockerd: Dockerd, runtime: str) -> Callable[[], object]:
    def run() -> object:
        done = dockerd.docker("run", "--rm", "--runtime", runtime, "--network", "none", NAME)
        assert done.stdout == MESSAGE, done
        return done

    return run


def _engine_run(engine: Engine, runtime: str) -> Callable[[], object]:
    spec = RunSpec(runtime=runtime)

    def run() -> object:
        result = engine.run(NAME, spec)
        assert result.stdout == MESSAGE, result
        return result

    return run


def _judge(engine: Engine, image: Image, runtime: str) -> Callable[[], object]:
    options = JudgeOptions(PHRASE, runs=3, spec=RunSpec(runtime=runtime))

    def fetch(_source: str, _wanted: Wanted) -> Image:
        return image

    def judge() -> object:
        judgement = judge_one("bench", fetch=fetch, engine=engine, options=options)
        assert judgement.accepted, judgement.reason
        return judgement

    return judge


def measure(runs: int) -> list[list[str]]:
    """Rows: what, engine, runc ms, runsc ms, runsc/runc."""
    runsc = require("runsc")
    image = image_of(clean_elf(MESSAGE))
    archive = dual_tar_bytes(image, NAME)
    rows: list[list[str]] = []

    def row(
        what: str, engine: str, runc_action: Callable[[], object], runsc_action: Callable[[], object]
    ) -> None:
        runc_ms, runsc_ms = _median_ms(runc_action, runs), _median_ms(runsc_action, runs)
        rows.append([what, engine, f"{runc_ms:.0f}", f"{runsc_ms:.0f}", f"{runsc_ms / runc_ms:.2f}"])
        print(" | ".join(rows[-1]), flush=True)

    one_run, judged = "one sandboxed run (`Engine.run`)", "`judge_one`, 3 runs (load, run ×3, remove)"
    ptrace = {"runsc-ptrace": {"path": runsc, "runtimeArgs": [*RUNSC_FLAGS, "--platform=ptrace"]}}
    dockerd = Dockerd(runtimes=ptrace).start()
    try:
        with tempfile.TemporaryDirectory(prefix="igrt-") as work:
            path = Path(work, "image.tar")
            path.write_bytes(archive)
            dockerd.docker("load", "-i", str(path))
        cli, docker = "`docker run --rm` (CLI, one container)", "dockerd 20.10"
        row(cli, docker, _docker_run(dockerd, "runc"), _docker_run(dockerd, "runsc"))
        row(
            f"{cli}, runsc `--platform=ptrace`",
            docker,
            _docker_run(dockerd, "runc"),
            _docker_run(dockerd, "runsc-ptrace"),
        )
        with connect({"DOCKER_HOST": dockerd.url}) as engine:
            row(one_run, docker, _engine_run(engine, "runc"), _engine_run(engine, "runsc"))
            row(judged, docker, _judge(engine, image, "runc"), _judge(engine, image, "runsc"))
    finally:
        dockerd.stop()
        subprocess.run(["sync"], check=False)
    with private_podman("runc") as podman:
        gvisor = podman.for_runtime("runsc")
        for each in (podman, gvisor):
            each.load(archive)
        service = "podman 4.3 (its service)"
        row(one_run, service, _engine_run(podman, "runc"), _engine_run(gvisor, "runsc"))
        row(judged, service, _judge(podman, image, "runc"), _judge(podman, image, "runsc"))
    return rows


def table(rows: list[list[str]], runs: int) -> list[str]:
    version = subprocess.run(["runsc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return [
        SECTION,
        "",
        f"Written by `python -m bench.runtimes` on {datetime.date.today()}, {host_platform.machine()}; "
        f"{version} (Debian bookworm-backports, default platform systrap), runc 1.1.5. Median wall "
        f"time of {runs} repetitions after one warm-up, of the same 176-byte amd64 ELF image (a clean "
        "ELF64 header: gVisor loads it) under the judge's run spec; runsc with `--network=none` "
        "(engine/runtimes.py).",
        "",
        "| what | engine | runc ms | runsc ms | runsc / runc |",
        "|---|---|---:|---:|---:|",
        *("| " + " | ".join(cells) + " |" for cells in rows),
        "",
        "gVisor starts a kernel of its own per container (the sandbox and its gofer processes), so "
        "every run pays that start; the program's own time is nothing beside it. At rest the sandbox "
        "holds about 14 MB of the run's 64 MiB memory limit and 25 host threads (runc: 0.6 MB, one). "
        "`--platform=kvm` does not work on this host (a VM without nested virtualization: the "
        "sandbox spins at 100% CPU and never starts the program).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", type=Path, help="replace this section of the markdown file")
    args = parser.parse_args()
    text = table(measure(args.runs), args.runs)
    print("\n".join(text))
    if args.write:
        replace_section(args.write, SECTION, text)


if __name__ == "__main__":
    main()
