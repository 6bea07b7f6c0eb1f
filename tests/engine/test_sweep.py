"""A judge killed mid-run leaves its image (and maybe a container); the sweep removes only those."""

from __future__ import annotations

import time

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.engine.client import JUDGE_IMAGE_PREFIX, Engine, judge_image_name
from imagegolf.platform import DEFAULT
from imagegolf.store.write import dual_tar_bytes


def _names(engine: Engine) -> set[str]:
    return {t for i in engine.api.images() for t in i.get("RepoTags") or []}


def test_the_sweep_removes_old_judge_images_and_their_containers_only(engine: Engine) -> None:
    image = program_image(b"swept\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    old = f"{JUDGE_IMAGE_PREFIX}{int(time.time()) - 7200}-0000dead:sweep"
    fresh = judge_image_name("sweep")
    other = "localhost/igtest-not-a-judge:sweep"
    for name in (old, fresh, other):
        engine.load(dual_tar_bytes(image, name))
    leftover = engine.api.create_container(old)["Id"]  # what a SIGKILLed judge leaves: created, not removed
    try:
        containers, images = engine.sweep_judge_leftovers(3600)
        assert (containers, images) >= (1, 1)
        names = _names(engine)
        assert old not in names and fresh in names and other in names
        assert leftover not in {c["Id"] for c in engine.api.containers(all=True)}
    finally:
        for name in (fresh, other):
            engine.remove_image(name, force=False)
