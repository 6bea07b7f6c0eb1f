"""A judge killed mid-run leaves its image (and maybe a container); the sweep removes only those."""

from __future__ import annotations

import time

import pytest

from imagegolf import elf
from imagegolf.cli.images import program_image
from imagegolf.engine import Engine
from imagegolf.judge.sandbox_run import (
    JUDGE_IMAGE_PREFIX,
    judge_image_name,
    judge_image_time,
    sweep_leftovers,
)
from imagegolf.platform import DEFAULT
from imagegolf.store.write import dual_tar_bytes

pytestmark = pytest.mark.engine


def test_the_sweep_removes_old_judge_images_and_their_containers_only(engine: Engine) -> None:
    image = program_image(b"swept\n", DEFAULT, elf.Mode.EMBED, elf.Profile.PORTABLE)[1]
    old = f"{JUDGE_IMAGE_PREFIX}{int(time.time()) - 7200}-0000dead:sweep"
    fresh = judge_image_name("sweep")
    other = "localhost/igtest-not-a-judge:sweep"
    for name in (old, fresh, other):
        engine.load(dual_tar_bytes(image, name))
    # What a SIGKILLed judge leaves: created, not removed.
    leftover = engine.api.sdk.create_container(old)["Id"]
    try:
        containers, images = sweep_leftovers(engine, 3600)
        assert (containers, images) >= (1, 1)
        names = set(engine.image_names())
        assert old not in names and fresh in names and other in names
        assert leftover not in {container_id for container_id, _ in engine.containers()}
    finally:
        for name in (fresh, other):
            engine.remove_image(name, force=False)


def test_only_judge_names_carry_a_load_time() -> None:
    assert judge_image_time(judge_image_name("x")) <= time.time()
    assert judge_image_time("localhost/imagegolf-run:x") == float("inf")
    assert judge_image_time(f"{JUDGE_IMAGE_PREFIX}notatime-1:x") == float("inf")
