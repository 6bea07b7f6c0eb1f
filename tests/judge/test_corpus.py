"""The corpus of hostile and broken images (tests/judge/corpus.py) through the whole judge.

Images that fail stage 1 never reach an engine; the others run on podman and on dockerd. The judge
runs in this process: surviving means every source gets a Judgement and nothing raises. Around the
whole module, /etc, the top of /tmp and a scratch working directory are snapshotted: judging must
change nothing outside the engines' own directories.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from imagegolf.engine import Engine, RunSpec
from imagegolf.engine.sandbox import LABEL
from imagegolf.judge import Judgement, JudgeOptions, Verdict, judge_one, judge_sources, local_fetch
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from tests.judge import hostcheck
from tests.judge.corpus import CANARY, REJECTED, RUN, Case
from tests.judge.images import PHRASE, busybox_parts

SPEC = RunSpec(timeout_s=3, stdout_cap=64 * 1024, stderr_cap=16 * 1024)


def options(case: Case | None = None, **changes: object) -> JudgeOptions:
    base = JudgeOptions(PHRASE, runs=1, spec=SPEC)
    if case is not None:
        base = replace(base, runs=case.runs, platforms=case.platforms)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Every case's source, written once; built lazily by name."""
    directory = tmp_path_factory.mktemp("corpus")
    built: dict[str, Path] = {}
    cases = {case.name: case for case in REJECTED + RUN}

    class Lazy(dict[str, Path]):
        def __missing__(self, name: str) -> Path:
            built[name] = cases[name].build(directory)
            return built[name]

    yield Lazy()


@pytest.fixture(scope="module", autouse=True)
def host_unchanged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Judging the corpus writes nothing on the host: not in /etc, not at the top of /tmp (see
    hostcheck.shared_dir_changes), not in the working directory, and no canary anywhere."""
    workdir = tmp_path_factory.mktemp("cwd")
    with contextlib.chdir(workdir):
        etc, tmp = hostcheck.snapshot(Path("/etc")), hostcheck.top_level(Path("/tmp"))
        yield
        found = hostcheck.changes(etc, hostcheck.snapshot(Path("/etc")))
        found += hostcheck.shared_dir_changes(tmp, hostcheck.top_level(Path("/tmp")), (CANARY,))
    found += [f"added {p}" for p in workdir.iterdir()]
    found += [f"canary {p}" for p in (Path("/etc", CANARY), Path("/tmp", CANARY)) if p.exists()]
    assert not found, found


def no_engine() -> contextlib.AbstractContextManager[Engine]:
    raise AssertionError("stage 1 must decide this image without an engine")


def check(case: Case, judgement: Judgement) -> None:
    assert judgement.verdict is case.verdict, (judgement.verdict, judgement.reason, judgement.runs)
    for needle in case.reason:
        assert needle in judgement.reason, judgement.reason
    for needle in case.notes:
        assert any(needle in note for note in judgement.notes), judgement.notes
    if case.stdout is not None:
        assert judgement.runs[-1].stdout == case.stdout
    if "chosen" in case.extra:
        assert judgement.chosen is not None and str(case.extra["chosen"]) in judgement.chosen
        assert judgement.index_digest is not None
    if "stderr" in case.extra:
        assert case.extra["stderr"] in judgement.runs[-1].stderr


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.name)
def test_rejected_before_anything_runs(case: Case, corpus: dict[str, Path]) -> None:
    (judgement,) = judge_sources(
        [str(corpus[case.name])], fetch=local_fetch, engine=no_engine, options=options(case)
    )
    check(case, judgement)
    assert judgement.runs == ()


@pytest.mark.engine
@pytest.mark.parametrize("case", RUN, ids=lambda c: c.name)
def test_judged_by_running(case: Case, corpus: dict[str, Path], engine: Engine) -> None:
    judgement = judge_one(str(corpus[case.name]), fetch=local_fetch, engine=engine, options=options(case))
    check(case, judgement)
    assert 1 <= len(judgement.runs) <= case.runs or judgement.verdict is Verdict.START_FAILED
    assert judgement.metrics is not None and judgement.digest is not None
    for run in judgement.runs:
        assert run.wall_ms < (SPEC.timeout_s + 10) * 1000
    leftover = engine.api.sdk.containers(all=True, filters={"label": LABEL})
    assert not [c for c in leftover if "imagegolf-judge-" in c.get("Image", "")]
    assert not [
        i for i in engine.api.sdk.images() if any("imagegolf-judge-" in t for t in i.get("RepoTags") or [])
    ]


@pytest.mark.engine
def test_a_tag_moved_after_fetching_changes_nothing(engine: Engine) -> None:
    """docs/judge.md #1: the judge fetches once; the run and the score are of the digest it fetched."""
    first = busybox_parts(f"echo {PHRASE}").image()
    moved = busybox_parts("echo moved").image()
    served: list[Image] = []

    def fetch(source: str, wanted: Wanted) -> Image:
        served.append(first if not served else moved)
        return served[-1]

    judgement = judge_one("registry.example/golf:latest", fetch=fetch, engine=engine, options=options(runs=2))
    assert len(served) == 1
    assert judgement.verdict is Verdict.ACCEPTED
    assert judgement.digest == first.manifest_digest
    assert all(run.stdout == f"{PHRASE}\n".encode() for run in judgement.runs)


def test_a_pinned_digest_must_be_what_the_fetch_returned() -> None:
    served = busybox_parts(f"echo {PHRASE}").image()
    pinned = f"registry.example/golf@sha256:{'a' * 64}"
    (judgement,) = judge_sources(
        [pinned], fetch=lambda source, platform: served, engine=no_engine, options=options()
    )
    assert judgement.verdict is Verdict.REJECTED_IMAGE
    assert str(served.manifest_digest) in judgement.reason


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = f"{PHRASE}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.engine
def test_network_use_reaches_nothing(engine: Engine, tmp_path: Path) -> None:
    """docs/judge.md #26: a server on the host's loopback serves the phrase; the container cannot reach it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        script = f"wget -q -T 2 -O - http://127.0.0.1:{port}/; wget -q -T 2 -O - http://example.com/; exit 0"
        source = tmp_path / "network.tar"
        from tests.judge.images import write_oci_archive

        write_oci_archive(source, busybox_parts(script))
        judgement = judge_one(str(source), fetch=local_fetch, engine=engine, options=options())
    finally:
        server.shutdown()
        server.server_close()
    assert judgement.verdict is Verdict.NO_OUTPUT, judgement.reason
    assert _Recorder.requests == []
    assert judgement.runs[0].stderr  # wget's complaint, shown but not judged
