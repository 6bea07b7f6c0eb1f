"""imagegolf's tar reader against Go's archive/tar on many generated archives.

.venv/bin/python -m bench.tar_differential --cases 100000 [--seed S] [--write docs/benchmarks.md]

The same grammar (tests/oci/tar_grammar.py) and harness (tests/oci/gotar.py) as
tests/oci/test_tar_differential.py, without shrinking: every archive is drawn once, read by both
readers and counted; each disagreement is printed as the grammar built it. ``--write FILE`` puts a
"## Tar reader vs Go archive/tar" section into FILE (replacing the one there, else appended).
Exit status 1 if any disagreement was found.
"""

from __future__ import annotations

import argparse
import datetime
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from tests.oci.gotar import DISAGREE, GoTar, Outcome, Tally, compare, find_go
from tests.oci.tar_grammar import Archive, archives

from bench.report import replace_section

TITLE = "## Tar reader vs Go archive/tar"


@dataclass
class Run:
    cases: int
    seed: int
    tally: Tally = field(default_factory=Tally)
    disagreements: list[tuple[Archive, Outcome]] = field(default_factory=list)
    seconds: float = 0.0


def run(cases: int, run_seed: int, progress_every: int = 10_000) -> Run:
    """Draw ``cases`` archives (generation only: no shrinking, no example database)."""
    result = Run(cases, run_seed)
    started = time.perf_counter()
    with GoTar() as go:

        @seed(run_seed)
        @settings(
            max_examples=cases,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(archive=archives())
        def one(archive: Archive) -> None:
            outcome = compare(archive.encode(), go)
            result.tally.add(archive.mood, outcome)
            if outcome.verdict == DISAGREE:
                result.disagreements.append((archive, outcome))
            done = result.tally.total()
            if done % progress_every == 0:
                elapsed = time.perf_counter() - started
                log(f"{done} cases, {len(result.disagreements)} disagreements, {elapsed:.0f} s")

        one()
    result.seconds = time.perf_counter() - started
    return result


def log(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")


def report(result: Run, show: int) -> str:
    """The counts, then each disagreement (the first ``show`` in full)."""
    lines = [
        f"{result.tally.total()} cases, seed {result.seed}, {result.seconds:.1f} s",
        *result.tally.lines(),
    ]
    for n, (archive, outcome) in enumerate(result.disagreements):
        if n == show:
            lines.append(f"… and {len(result.disagreements) - show} more disagreements (--show N for more)")
            break
        lines += ["", f"-- disagreement {n + 1}", archive.describe(), outcome.describe()]
    return "\n".join(lines) + "\n"


def section(result: Run) -> list[str]:
    """The markdown section for docs/benchmarks.md."""
    go_version = subprocess.run([find_go(), "version"], capture_output=True, text=True).stdout.split()[2]
    table = [f"| {' | '.join(row)} |" for row in result.tally.rows()]
    table.insert(1, "|---|" + "---:|" * (len(result.tally.rows()[0]) - 1))
    found = [
        f"- {'; '.join(outcome.problems)[:300]} — twists: {'; '.join(archive.twists) or 'none'}"
        for archive, outcome in result.disagreements[:10]
    ]
    return [
        TITLE,
        "",
        f"`python -m bench.tar_differential --cases {result.cases} --seed {result.seed}` on "
        f"{datetime.date.today().isoformat()}, {go_version}: archives drawn by the grammar of "
        "tests/oci/tar_grammar.py (plain, twisted and hostile moods), each read by imagegolf's `read_tar` "
        "and by Go's `archive/tar` (tests/oci/gotar), what dockerd and podman extract layers with. "
        "Refusing an archive is always allowed; accepting one must match Go entry for entry.",
        "",
        *table,
        "",
        f"**{len(result.disagreements)} disagreements** in {result.tally.total():,} cases; "
        f"{result.seconds:.1f} s ({result.tally.total() / result.seconds:.0f} cases/s, one Go process).",
        *(["", *found] if found else []),
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="archives to draw (10000)")
    parser.add_argument("--seed", type=int, default=None, help="the draw's seed (default: random, printed)")
    parser.add_argument("--show", type=int, default=20, help="disagreements printed in full (20)")
    parser.add_argument("--write", metavar="FILE", help=f"put a {TITLE[3:]!r} section into FILE")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    run_seed = random.getrandbits(32) if args.seed is None else args.seed
    log(f"drawing {args.cases} archives, seed {run_seed}")
    result = run(args.cases, run_seed)
    sys.stdout.write(report(result, args.show))
    if args.write:
        replace_section(Path(args.write), TITLE, section(result))
        log(f"wrote the {TITLE[3:]!r} section into {args.write}")
    return 1 if result.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
