"""The merged root filesystem and the START_FAILED diagnosis, from layer listings alone."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegolf import elf
from imagegolf.errors import BadInputError
from imagegolf.judge.host import BinfmtHandler, Host, binfmt_handlers, current_host
from imagegolf.judge.launch import Launch, diagnose
from imagegolf.judge.rootfs import Node, RootFS
from imagegolf.oci.layer_read import unpacked
from imagegolf.oci.tar_read import read_tar
from imagegolf.platform import LINUX_386, LINUX_AMD64, LINUX_ARM64
from tests.judge.images import member, tar_layer

X86 = Host("x86_64", frozenset({62, 3}))
PATH = "/usr/local/bin:/usr/bin:/bin"
TEENSY = elf.build_program(b"hi\n", LINUX_386)
AMD64 = elf.build_program(b"hi\n", LINUX_AMD64)
ARM64 = elf.build_program(b"hi\n", LINUX_ARM64)
QEMU_AARCH64 = BinfmtHandler(
    "qemu-aarch64",
    "/usr/libexec/qemu-binfmt/aarch64-binfmt-P",
    "PF",
    0,
    bytes.fromhex("7f454c460201010000000000000000000200b700"),
    bytes.fromhex("ffffffffffffff00fffffffffffffffffeffffff"),
)


def root_of(*layers: bytes) -> tuple[RootFS, dict[tuple[int, str], bytes]]:
    root = RootFS()
    contents: dict[tuple[int, str], bytes] = {}
    for number, layer in enumerate(layers):
        entries = list(unpacked(read_tar(layer, keep_data=True)))
        for entry in entries:
            if entry.data is not None:
                contents[(number, entry.path)] = entry.data
        root.add_layer(number, entries)
    return root, contents


def launch(argv: list[str], *layers: bytes, host: Host = X86) -> Launch:
    root, contents = root_of(*layers)

    def head(node: Node) -> bytes:
        return contents[(node.layer, node.entry.path)]

    return diagnose(tuple(argv), root, head, host, path_env=PATH)


def test_a_static_program_has_no_problem() -> None:
    result = launch(["/a"], tar_layer(member("a", TEENSY, mode=0o111)))
    assert result == Launch(("/a",), "/a", None)


def test_path_lookup_and_symlinks_inside_the_image() -> None:
    layer = tar_layer(
        member("bin/busybox", AMD64),
        member("usr/bin/sh", kind=tarfile.SYMTYPE, link="../../bin/busybox"),
        member("sh-abs", kind=tarfile.SYMTYPE, link="/usr/bin/sh"),
    )
    assert launch(["sh", "-c", "true"], layer).entry == "/bin/busybox"
    assert launch(["/sh-abs"], layer).entry == "/bin/busybox"
    assert launch(["bin/busybox"], layer).entry == "/bin/busybox"  # relative to the forced workdir /


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "no command"),
        ([""], "empty string"),
        (["/nope"], "/nope is not in the image"),
        (["hello IDBS engineering"], "not a path"),
        (["/dangling"], "symlink to /missing"),
        (["/bin"], "is a directory"),
        (["/text"], "neither an ELF executable nor a #! script"),
        (["/script"], "a script for /bin/sh, which is not in the image"),
        (["/rootonly"], "mode 0744"),
        (["/rel"], "ELF file but not an executable"),
    ],
)
def test_problems(argv: list[str], needle: str) -> None:
    layer = tar_layer(
        member("bin/", kind=tarfile.DIRTYPE),
        member("dangling", kind=tarfile.SYMTYPE, link="/missing"),
        member("text", b"hello\n"),
        member("script", b"#!/bin/sh\necho hi\n"),
        member("rootonly", TEENSY, mode=0o744),
        member("rel", TEENSY[:16] + b"\x01\x00" + TEENSY[18:]),  # e_type ET_REL
    )
    problem = launch(argv, layer).problem
    assert problem is not None and needle in problem, problem


def test_the_unprivileged_user_may_own_the_file() -> None:
    assert launch(["/a"], tar_layer(member("a", TEENSY, mode=0o700, uid=65534))).problem is None
    assert "mode 0700" in (launch(["/a"], tar_layer(member("a", TEENSY, mode=0o700))).problem or "")


def test_host_echo_names_its_missing_interpreter() -> None:
    echo = Path("/bin/echo").read_bytes()
    problem = launch(["/echo"], tar_layer(member("echo", echo))).problem
    assert problem is not None
    assert "dynamically linked" in problem and "/lib64/ld-linux-x86-64.so.2" in problem


def test_a_dynamic_program_with_its_interpreter_has_no_problem_we_can_see() -> None:
    layer = tar_layer(
        member("echo", Path("/bin/echo").read_bytes()),
        member("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", b"\x7fELF"),
        member(
            "lib64/ld-linux-x86-64.so.2",
            kind=tarfile.SYMTYPE,
            link="/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ),
    )
    assert launch(["/echo"], layer).problem is None


def test_scripts_need_their_interpreter_and_read_permission() -> None:
    with_shell = [member("bin/sh", AMD64)]
    assert launch(["/s"], tar_layer(*with_shell, member("s", b"#!/bin/sh\n"))).problem is None
    problem = launch(["/s"], tar_layer(*with_shell, member("s", b"#!/bin/sh\n", mode=0o711))).problem
    assert problem is not None and "cannot read it" in problem


def test_foreign_machines_need_an_emulator() -> None:
    layer = tar_layer(member("a", ARM64, mode=0o555))
    problem = launch(["/a"], layer).problem
    assert problem is not None and "AArch64" in problem and "no emulator" in problem
    emulated = Host("x86_64", frozenset({62, 3}), (QEMU_AARCH64,))
    assert launch(["/a"], layer, host=emulated).problem is None
    unreadable = launch(["/a"], tar_layer(member("a", ARM64, mode=0o111)), host=emulated).problem
    assert unreadable is not None and "must read it" in unreadable
    no_f_flag = Host(
        "x86_64", frozenset({62}), (QEMU_AARCH64.__class__(**{**QEMU_AARCH64.__dict__, "flags": "P"}),)
    )
    assert "F flag" in (launch(["/a"], layer, host=no_f_flag).problem or "")


def test_this_hosts_binfmt_handlers_are_read() -> None:
    handlers = {h.name: h for h in binfmt_handlers()}
    assert "qemu-aarch64" in handlers  # scripts/setup.sh installs qemu-user-static + binfmt-support
    assert handlers["qemu-aarch64"].matches(ARM64) and handlers["qemu-aarch64"].preopened
    assert current_host().handler_for(ARM64) is not None
    assert current_host().handler_for(AMD64) is None


def test_whiteouts_hide_lower_files() -> None:
    lower = tar_layer(member("bin/busybox", AMD64), member("etc/a", b"1"), member("etc/b", b"2"))
    upper = tar_layer(member("bin/.wh.busybox", b""), member("etc/.wh..wh..opq", b""), member("etc/c", b"3"))
    root, _ = root_of(lower, upper)
    assert sorted(root.nodes) == ["etc/c"]
    assert "not in the image" in (launch(["/bin/busybox"], lower, upper).problem or "")


def test_a_lower_file_may_become_a_directory_above() -> None:
    root, _ = root_of(tar_layer(member("x", b"file")), tar_layer(member("x/y", b"inner")))
    assert set(root.nodes) == {"x/y"}


def test_a_non_directory_above_hides_a_lower_directory_and_all_in_it() -> None:
    lower = tar_layer(member("d/", kind=tarfile.DIRTYPE), member("d/big", b"x" * 100), member("d/e/f", b"1"))
    root, _ = root_of(lower, tar_layer(member("d", b"now a file")))
    assert set(root.nodes) == {"d"}


def test_a_hard_link_header_sets_the_mode_and_owner_of_the_file_it_shares() -> None:
    # The engines chmod and chown the shared inode with the link header's values: the program
    # is no longer executable for uid 65534.
    layer = tar_layer(member("a", AMD64, mode=0o755), member("b", kind=tarfile.LNKTYPE, link="a", mode=0o600))
    root, _ = root_of(layer)
    assert root.file_node("a") is not None and root.file_node("a").entry.mode == 0o600  # type: ignore[union-attr]
    assert "no execute permission" in (launch(["/a"], layer).problem or "")


@pytest.mark.parametrize(
    ("layers", "needle"),
    [
        (
            [tar_layer(member("x", kind=tarfile.SYMTYPE, link="/etc"), member("x/passwd", b"p"))],
            "lies under /x, which this layer made a symlink",
        ),
        (
            [tar_layer(member("x", kind=tarfile.SYMTYPE, link="/etc")), tar_layer(member("x/passwd", b"p"))],
            "through the symlink",
        ),
        (
            [tar_layer(member("x", kind=tarfile.SYMTYPE, link="/etc")), tar_layer(member("x/.wh.passwd"))],
            "whites out /x/passwd through the symlink /x -> /etc",
        ),
        (
            [tar_layer(member("x", kind=tarfile.SYMTYPE, link="/etc")), tar_layer(member("x/.wh..wh..opq"))],
            "marks opaque /x/.wh..wh..opq through the symlink /x -> /etc",
        ),
        (
            [tar_layer(member("f", b"1")), tar_layer(member("h", kind=tarfile.LNKTYPE, link="f"))],
            r"\(`h`\) is a hard link to /f, which is not a file earlier in the same layer",
        ),
        ([tar_layer(member("h", kind=tarfile.LNKTYPE, link="/etc/passwd"))], "hard link to /etc/passwd"),
        ([tar_layer(member("f", b"1"), member("f/g", b"2"))], "lies under /f, which this layer made a file"),
        ([tar_layer(member("a/b/l", kind=tarfile.SYMTYPE, link="../../../x"))], "climbs out"),
        ([tar_layer(member("sys", kind=tarfile.SYMTYPE, link="/"))], "/sys"),
        ([tar_layer(member("tmp", kind=tarfile.SYMTYPE, link="/etc"))], "mounts a file or directory there"),
    ],
)
def test_refused_shapes(layers: list[bytes], needle: str) -> None:
    with pytest.raises(BadInputError, match=needle):
        root_of(*layers)


def test_accepted_shapes() -> None:
    root, _ = root_of(
        tar_layer(
            member("f", b"1"),
            member("h", kind=tarfile.LNKTYPE, link="f"),  # a hard link within its layer
            member("abs", kind=tarfile.SYMTYPE, link="/etc"),  # absolute targets stay in the root
            member("a/b/l", kind=tarfile.SYMTYPE, link="../../x"),
            member("dev/", kind=tarfile.DIRTYPE),  # empty runtime directories are fine
            member("proc/", kind=tarfile.DIRTYPE),
            member("var/mail/", kind=tarfile.DIRTYPE, mode=0o2775),  # setgid directories are common
        )
    )
    assert root.file_node("h") == root.nodes["f"]


def test_set_id_files_are_recorded_not_refused() -> None:
    root, _ = root_of(tar_layer(member("bin/su", b"1", mode=0o4755), member("bin/chage", b"2", mode=0o2755)))
    assert sorted(root.set_id_files) == ["/bin/chage", "/bin/su"]


@given(st.binary(max_size=300), st.sampled_from([0o755, 0o111, 0o644]))
@settings(max_examples=300, deadline=None)
def test_any_entry_bytes_give_a_diagnosis_not_an_exception(tail: bytes, mode: int) -> None:
    for data in (b"\x7fELF" + tail, b"#!" + tail, tail):
        launch(["/a"], tar_layer(member("a", data, mode=mode)))
        launch(["/a"], tar_layer(member("a", data, mode=mode)), host=current_host())
