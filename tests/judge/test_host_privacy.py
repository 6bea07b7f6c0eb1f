"""The sandbox reveals nothing of the judge's host: what a program prints, and the reasons the judge
gives, are shown on a public page. Hostname, environment and /etc files are fixed and the same on
both engines; engine errors shown as reasons name no host path."""

from __future__ import annotations

import re
import socket
import tarfile
from pathlib import Path

import pytest

from imagegolf.engine import Engine, RunSpec
from imagegolf.engine.client import HOST_PATH
from imagegolf.judge import JudgeOptions, Verdict, judge_one
from imagegolf.judge.runner import classify
from imagegolf.judge.sandbox_run import run_image
from imagegolf.oci.image import Image
from imagegolf.platform import Wanted
from tests.judge.images import PHRASE, busybox, busybox_parts, member, parts, tar_layer

pytestmark = pytest.mark.engine

# PID 1 is the shell itself (no init): /proc/1/environ is exactly what the engine gave it.
SCRIPT = (
    f"echo {PHRASE}; echo hostname=$(/bin/busybox hostname); "
    "echo domainname=$(/bin/busybox cat /proc/sys/kernel/domainname); "
    "/bin/busybox tr '\\0' '\\n' < /proc/1/environ | /bin/busybox sort; "
    'for f in /etc/hosts /etc/resolv.conf /etc/hostname; do echo "== $f"; /bin/busybox cat $f; done'
)
EXPECTED = (
    f"{PHRASE}\n"
    "hostname=imagegolf\n"
    "domainname=(none)\n"
    "HOME=/\n"
    "HOSTNAME=imagegolf\n"
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    "TERM=dumb\n"
    "container=imagegolf\n"
    "== /etc/hosts\n"
    "127.0.0.1\tlocalhost imagegolf\n"
    "::1\tlocalhost imagegolf\n"
    "== /etc/resolv.conf\n"
    "== /etc/hostname\n"
    "imagegolf\n"
)
GENERIC_NAMES = {"localhost", "ip6-localhost", "ip6-loopback", "127.0.0.1", "::1"}


def host_words() -> set[str]:
    """What the host would give away: its names, its /etc/hosts entries, its resolvers and domains."""
    words = {socket.gethostname(), socket.getfqdn()}
    for line in Path("/etc/hosts").read_text().splitlines():
        words.update(line.split("#", 1)[0].split())
    resolv = Path("/etc/resolv.conf")
    for line in resolv.read_text().splitlines() if resolv.exists() else []:
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] in ("nameserver", "search", "domain"):
            words.update(fields[1:])
    return words - GENERIC_NAMES - {"imagegolf", ""}


def test_hostname_environment_and_etc_files_are_fixed(engine: Engine) -> None:
    image = busybox_parts(SCRIPT).image()

    def fetch(source: str, wanted: Wanted) -> Image:
        return image

    judgement = judge_one("privacy", fetch=fetch, engine=engine, options=JudgeOptions(PHRASE, runs=1))
    assert judgement.verdict is Verdict.ACCEPTED, judgement.reason
    (run,) = judgement.runs
    assert run.stdout.decode() == EXPECTED, run.stderr
    printed = set(re.split(r"[\s=]+", run.stdout.decode()))
    assert not printed & host_words()


def test_an_engine_error_shown_as_the_reason_names_no_host_path(engine: Engine) -> None:
    # /etc/hostname is a directory: mounting the sandbox's file there fails in runc, whose message
    # names the host's source path.
    layer = tar_layer(
        member("bin/", kind=tarfile.DIRTYPE),
        member("bin/busybox", busybox()),
        member("etc/", kind=tarfile.DIRTYPE),
        member("etc/hostname/", kind=tarfile.DIRTYPE),
    )
    image = parts([layer], {"Cmd": ["/bin/busybox", "true"]}).image()
    (run,) = run_image(engine, image, RunSpec(), lambda one: one)
    record = classify(run, JudgeOptions(PHRASE, runs=1))
    assert record.verdict is Verdict.START_FAILED
    assert run.never_started == record.reason
    assert "/etc/hostname" in record.reason and HOST_PATH in record.reason, record.reason
    root = engine.api.info().root_dir
    for host_path in ("/tmp/", "/var/lib/", "/run/containers", "/run/docker", "userdata", root):
        assert host_path not in record.reason
