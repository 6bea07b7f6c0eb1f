"""Every corpus image (good, hostile, the tar games) and every ladder rung, loaded into dockerd
(classic overlay2 store) and into podman (the tests' private store): where the judge reads an image, its
``docker_classic`` is dockerd's ``.Size`` and its ``podman`` metric is podman's ``Size``.

Images the judge's reader refuses have no score to compare; they are covered by test_corpus.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegolf import ladder, oci, store
from imagegolf.errors import BadInputError
from imagegolf.judge import local_fetch
from imagegolf.ladder.check import LADDER_CAPS
from tests.judge.corpus import REJECTED, RUN, Case
from tests.judge.test_corpus import corpus  # noqa: F401 - the module fixture that builds the corpus
from tests.services import Dockerd, Podman

pytestmark = pytest.mark.slow
MESSAGE = b"hello IDBS engineering\n"
CASES = {case.name: case for case in REJECTED + RUN}
LAX = oci.DEFAULT_CAPS
RUNGS = [name for name, rung in ladder.STRATEGIES.items() if name != "distro-echo"]


def engine_sizes(
    image: oci.Image, name: str, dockerd: Dockerd, podman: Podman, tmp: Path
) -> tuple[int, int]:
    """(dockerd .Size, podman Size) of the image loaded from the dual tar the judge would write."""
    path = store.write_dual_tar(image, tmp / "image.tar", name)
    dockerd.docker("load", "-i", str(path))
    podman.podman("load", "-i", str(path))
    try:
        docker = dockerd.docker("image", "inspect", "--format", "{{.Size}}", name).stdout
        podman_size = podman.podman("image", "inspect", "--format", "{{.Size}}", name).stdout
    finally:
        dockerd.docker("rmi", "-f", name, check=False)
        podman.podman("rmi", "-f", name, check=False)
    return int(docker), int(podman_size)


def check_scores(
    image: oci.Image, name: str, dockerd: Dockerd, podman: Podman, tmp: Path, caps: oci.Caps = LAX
) -> None:
    metrics = oci.size_metrics(image, caps=caps)
    # An image chosen from an index is loaded alone: podman does not store the index then.
    alone = metrics.podman - len(image.index or b"")
    assert engine_sizes(image, name, dockerd, podman, tmp) == (metrics.docker_classic, alone)


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_corpus_scores_equal_the_engines(
    case: str, corpus: dict[str, Path], dockerd: Dockerd, podman: Podman, tmp_path: Path  # noqa: F811
) -> None:
    source: Case = CASES[case]
    try:
        image = local_fetch(str(corpus[case]), source.wanted)
    except BadInputError:
        assert source in REJECTED  # refused while reading: no score exists to compare
        return
    check_scores(image, f"localhost/igtest/sizes-{case}:v1", dockerd, podman, tmp_path)


@pytest.mark.parametrize("rung", RUNGS)
def test_ladder_scores_equal_the_engines(
    rung: str, dockerd: Dockerd, podman: Podman, tmp_path: Path
) -> None:
    built = ladder.build_rung(rung, MESSAGE)
    name = f"localhost/igtest/sizes-{rung}:v1"
    check_scores(built.image, name, dockerd, podman, tmp_path, caps=LADDER_CAPS)

