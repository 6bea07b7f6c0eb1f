"""The corpus table: each corpus image, tar game and ladder rung with the judge's verdict and
size beside what dockerd (classic overlay2 store) and podman store when they load it.

    .venv/bin/python -m bench.corpus_sizes --write docs/benchmarks.md

For the tar games (tests/judge/tar_games.py), which the judge refuses, the engines are given the
image as it is: the table shows what a judge that read layers differently would have scored
against what the engine really stores. Starts its own dockerd and podman stores, as root.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from tests.judge import tar_games
from tests.judge.corpus import REJECTED, RUN
from tests.judge.images import PHRASE, parts
from tests.services import Dockerd, Podman

from bench.report import replace_section
from imagegolf import ladder, oci, store
from imagegolf.engine.discovery import private_podman
from imagegolf.engine.sandbox import RunSpec
from imagegolf.errors import BadInputError
from imagegolf.judge import Judgement, JudgeOptions, judge_one, local_fetch
from imagegolf.ladder.check import LADDER_CAPS

SECTION = "## Sizes: the judge beside dockerd and podman (the corpus)"
SPEC = RunSpec(timeout_s=3, stdout_cap=64 * 1024, stderr_cap=16 * 1024)
OPTIONS = JudgeOptions(PHRASE, runs=1, spec=SPEC)
MESSAGE = b"hello IDBS engineering\n"


def engine_size(
    image: oci.Image, name: str, dockerd: Dockerd, podman: Podman, work: Path
) -> tuple[str, str]:
    """What each engine stores for ``image`` (its Size), or why it refused to load it."""
    path = store.write_dual_tar(image, work / "image.tar", name)
    sizes = []
    for load, inspect, remove in (
        (lambda: dockerd.docker("load", "-i", str(path), check=False),
         lambda: dockerd.docker("image", "inspect", "--format", "{{.Size}}", name, check=False),
         lambda: dockerd.docker("rmi", "-f", name, check=False)),
        (lambda: podman.podman("load", "-i", str(path), check=False),
         lambda: podman.podman("image", "inspect", "--format", "{{.Size}}", name, check=False),
         lambda: podman.podman("rmi", "-f", name, check=False)),
    ):  # fmt: skip
        loaded = load()
        if loaded.returncode != 0:
            sizes.append("refused: " + _first_words(loaded.stderr))
            continue
        sizes.append(inspect().stdout.decode().strip())
        remove()
    return sizes[0], sizes[1]


def _first_words(stderr: bytes) -> str:
    text = " ".join(stderr.decode(errors="replace").split())
    for marker in ("Error processing tar file(", "Error: ", "error: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text[:60].replace("|", "/")


@dataclass(frozen=True)
class Row:
    image: str
    verdict: str
    classic: str  # the judge's docker_classic, "—" when it did not read the image
    podman: str
    engine_classic: str  # dockerd's .Size, or why it refused the image
    engine_podman: str

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.image, self.verdict, self.classic, self.podman, self.engine_classic, self.engine_podman)


def rows(work: Path, dockerd: Dockerd, podman: Podman) -> Iterator[Row]:
    with private_podman() as engine:
        for case in REJECTED + RUN:
            if case.name.startswith("tar-"):
                continue  # the tar games follow, with what the engines store for them
            path = case.build(work)
            options = replace(OPTIONS, platforms=case.platforms, runs=case.runs)
            judged: Judgement = judge_one(str(path), fetch=local_fetch, engine=engine, options=options)
            try:
                image = local_fetch(str(path), case.wanted)
            except BadInputError:
                yield Row(case.name, judged.verdict.value, "—", "—", "(not read)", "(not read)")
                continue
            m = judged.metrics or oci.size_metrics(image)
            m = replace(m, podman=m.podman - len(image.index or b""))  # loaded alone, without its index
            sizes = engine_size(image, f"localhost/igbench/{case.name}:v1", dockerd, podman, work)
            yield Row(case.name, judged.verdict.value, str(m.docker_classic), str(m.podman), *sizes)
        for game in tar_games.GAMES:
            image = parts([tar_games.layer(game)], {"Cmd": tar_games.PHRASE_CMD}).image()
            sizes = engine_size(image, f"localhost/igbench/tar-{game.name}:v1", dockerd, podman, work)
            yield Row(f"tar-{game.name}", "REJECTED_IMAGE", "—", "—", *sizes)
    for name, rung in ladder.STRATEGIES.items():
        built = ladder.build_rung(name, MESSAGE)
        metrics = oci.size_metrics(built.image, caps=LADDER_CAPS)
        sizes = engine_size(built.image, f"localhost/igbench/{name}:v1", dockerd, podman, work)
        verdict = f"{rung.expected} (expected)"
        yield Row(f"ladder {name}", verdict, str(metrics.docker_classic), str(metrics.podman), *sizes)


def table(found: list[Row]) -> list[str]:
    header = ("image", "verdict", "judge docker_classic", "judge podman", "dockerd .Size", "podman Size")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells) + " |" for row in found]
    read = [row for row in found if row.classic != "—"]
    agree = sum(1 for row in read if (row.classic, row.podman) == (row.engine_classic, row.engine_podman))
    return [
        SECTION,
        "",
        f"Measured {datetime.date.today()} with "
        "`.venv/bin/python -m bench.corpus_sizes --write docs/benchmarks.md`: dockerd 20.10 "
        f"(overlay2), podman 4.3 (overlay). Of {len(read)} images the judge reads, {agree} have both "
        "sizes equal to the engines'. The tar games are refused by the judge; the engines' columns "
        'show what they store when given them directly ("refused": the load failed).',
        "",
        *lines,
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="replace this section of the markdown file")
    args = parser.parse_args()
    dockerd, podman = Dockerd().start(), Podman()
    try:
        with tempfile.TemporaryDirectory(prefix="igsizes-") as work:
            found = []
            for row in rows(Path(work), dockerd, podman):
                print(" | ".join(row.cells), flush=True)
                found.append(row)
    finally:
        dockerd.stop()
        podman.stop()
        subprocess.run(["sync"], check=False)
    text = table(found)
    print("\n".join(text))
    if args.write:
        replace_section(args.write, SECTION, text)


if __name__ == "__main__":
    main()
