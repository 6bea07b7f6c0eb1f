"""Why an image's command cannot start, read from its layers (nothing is executed).

Engines report a failed exec inconsistently (exit 127, a create error, or exit 1 with runc's
"exec /x: no such file or directory" on stderr), so the judge works the reason out itself:
no command, no such file, not executable for the unprivileged user, a dynamically linked ELF
whose interpreter is missing, an ELF for a machine this host cannot run, a script whose
interpreter is missing, or bytes no kernel executes. Under ``runsc`` the loader is gVisor's
(judge/gvisor.py): stricter about the ELF header, the host's architecture only, and it opens the
program for reading.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from imagegolf.elf.anatomy import ELF_MAGIC, ET_DYN, ET_EXEC, PT_INTERP, Segment, dissect
from imagegolf.engine.runtimes import RUNC, RUNSC
from imagegolf.engine.sandbox import NOBODY_UID
from imagegolf.errors import BadInputError
from imagegolf.judge import gvisor
from imagegolf.judge.host import MACHINE_NAMES, Host
from imagegolf.judge.rootfs import Node, RootFS
from imagegolf.oci.tar_entry import DIRECTORY, FILE, TarEntry

HEAD_BYTES = 64 * 1024  # enough for the ELF and program headers and PT_INTERP of real binaries
HeadReader = Callable[[Node], bytes]


@dataclass(frozen=True)
class Launch:
    """What the engine will execute, and why it cannot, when the layers show it."""

    argv: tuple[str, ...]
    entry: str | None  # the file executed, as a path in the image ("/bin/busybox")
    problem: str | None  # a sentence for the contestant; None when nothing is wrong that we can see


def diagnose(
    argv: tuple[str, ...],
    root: RootFS,
    read_head: HeadReader,
    host: Host,
    *,
    path_env: str,
    workdir: str = "/",
    runtime: str = RUNC,
) -> Launch:
    if not argv:
        return Launch(argv, None, "the image has no command: its config sets neither Entrypoint nor Cmd")
    command = argv[0]
    if not command:
        return Launch(argv, None, "the image's command is an empty string")
    found = _locate(command, root, path_env, workdir)
    if isinstance(found, str):
        return Launch(argv, None, found)
    path, node = found
    return Launch(argv, "/" + path, _entry_problem("/" + path, node, root, read_head, host, runtime))


def _locate(command: str, root: RootFS, path_env: str, workdir: str) -> tuple[str, Node] | str:
    """The resolved path and node of the command, or a sentence saying why there is none."""
    if "/" in command:
        candidates = [posixpath.normpath(posixpath.join(workdir, command))]
    else:
        candidates = [posixpath.join(d or ".", command) for d in path_env.split(":") if d.startswith("/")]
    for candidate in candidates:
        resolved = root.resolve(candidate)
        if resolved is None:
            continue
        node = root.file_node(resolved)
        if node is None:
            if root.is_dir(resolved):
                return f"the command {candidate} is a directory in the image"
            continue
        if node.entry.kind == DIRECTORY:
            return f"the command {candidate} is a directory in the image"
        return resolved, node
    if "/" in command:
        dangling = root.resolve(candidates[0], follow_last=False)
        if dangling is not None and dangling in root.nodes:
            link = root.nodes[dangling].entry.linkname
            return f"the command {command} is a symlink to {link}, which is not in the image"
        return f"the command {command} is not in the image"
    return (
        f"the command {command!r} is not a path, and no file of that name is in the PATH directories "
        f"({path_env}); the runtime's error message quoting it is not the program's output"
    )


def _entry_problem(
    path: str, node: Node, root: RootFS, read_head: HeadReader, host: Host, runtime: str = RUNC
) -> str | None:
    entry = node.entry
    if entry.kind != FILE:
        return f"the command {path} is a {entry.kind}, not a file"
    if not _permitted(entry, 0o1):
        return (
            f"the command {path} has mode {entry.mode & 0o7777:04o}: no execute permission for the "
            f"unprivileged user (uid {NOBODY_UID}) the judge runs it as"
        )
    head = read_head(node)
    if runtime == RUNSC:
        return _gvisor_problem(path, entry, head, root, read_head, host)
    if head.startswith(b"#!"):
        return _script_problem(path, entry, head, root)
    if head.startswith(ELF_MAGIC):
        return _elf_problem(path, entry, head, root, host)
    handler = host.handler_for(head)
    if handler is not None:
        return None
    return (
        f"the command {path} is neither an ELF executable nor a #! script (it starts with {head[:8]!r}): "
        "the kernel cannot execute it (exec format error)"
    )


def _script_problem(path: str, entry: TarEntry, head: bytes, root: RootFS) -> str | None:
    line = head[2:].split(b"\n", 1)[0].strip()
    interpreter = line.split()[0].decode("utf-8", "replace") if line else ""
    if not interpreter.startswith("/"):
        return f"the script {path} has no absolute interpreter on its #! line"
    if not _permitted(entry, 0o4):
        return f"the script {path} has mode {entry.mode & 0o7777:04o}: its interpreter cannot read it"
    resolved = root.resolve(interpreter)
    if resolved is None or root.file_node(resolved) is None:
        return f"the command {path} is a script for {interpreter}, which is not in the image"
    return None


def _elf_problem(path: str, entry: TarEntry, head: bytes, root: RootFS, host: Host) -> str | None:
    try:
        anatomy = dissect(head)
    except BadInputError:
        return None
    machine = anatomy.machine
    name = MACHINE_NAMES.get(machine, f"e_machine {machine}")
    if anatomy.header["e_type"] not in (ET_EXEC, ET_DYN):
        return f"the command {path} is an ELF file but not an executable (e_type {anatomy.header['e_type']})"
    if machine not in host.native:
        handler = host.handler_for(head)
        if handler is None:
            return (
                f"the command {path} is an ELF for {name} (e_machine {machine}), but this host runs "
                f"{host.description} and has no emulator (binfmt_misc handler) for it: exec format error"
            )
        if not handler.preopened:
            return (
                f"the command {path} is an ELF for {name}; this host's emulator for it "
                f"({handler.interpreter}) lacks the binfmt F flag, so it would have to be in the image"
            )
        if not _permitted(entry, 0o4):
            return (
                f"the command {path} is an ELF for {name}, run through the emulator "
                f"{handler.interpreter}, which must read it: mode {entry.mode & 0o7777:04o} "
                f"has no read permission for uid {NOBODY_UID}"
            )
    return _interp_problem(path, head, root, anatomy.segments)


def _gvisor_problem(
    path: str, entry: TarEntry, head: bytes, root: RootFS, read_head: HeadReader, host: Host
) -> str | None:
    """Why gVisor cannot start the command: it opens the file for reading, then loads it with
    its own ELF loader (judge/gvisor.py); it has no binfmt_misc."""
    if head.startswith(b"#!"):
        loaded = _script_problem(path, entry, head, root) or _gvisor_interpreter_problem(
            path, head, root, read_head, host
        )
    elif head.startswith(ELF_MAGIC):
        loaded = gvisor.refusal(path, head, entry.size, host.uname) or _interp_problem(path, head, root)
    else:
        loaded = (
            f"the command {path} is neither an ELF executable nor a #! script (it starts with "
            f"{head[:8]!r}): gVisor cannot execute it (exec format error)"
        )
    if _permitted(entry, 0o4):
        return loaded
    unreadable = (
        f"the command {path} has mode {entry.mode & 0o7777:04o}: gVisor opens a program for reading to "
        f"load it (pkg/sentry/loader/loader.go openPath, gVisor issue 160; Linux needs only execute "
        f"permission), and uid {NOBODY_UID} may not read it (permission denied)"
    )
    return f"{unreadable}; readable, it would still fail: {loaded}" if loaded else unreadable


def _gvisor_interpreter_problem(
    path: str, head: bytes, root: RootFS, read_head: HeadReader, host: Host
) -> str | None:
    """Under gVisor a script's interpreter is loaded by gVisor's loader too."""
    interpreter = head[2:].split(b"\n", 1)[0].strip().split()[0].decode("utf-8", "replace")
    resolved = root.resolve(interpreter)
    node = root.file_node(resolved) if resolved is not None else None
    if node is None:
        return None
    interp_head = read_head(node)
    if not interp_head.startswith(ELF_MAGIC):
        return None
    refused = gvisor.refusal(interpreter, interp_head, node.entry.size, host.uname)
    return (
        f"the script {path} runs {interpreter}, and {refused.removeprefix('the command ')}"
        if refused
        else None
    )


def _interp_problem(
    path: str, head: bytes, root: RootFS, segments: tuple[Segment, ...] | None = None
) -> str | None:
    """A dynamically linked ELF whose program interpreter (PT_INTERP) is not in the image."""
    if segments is None:
        try:
            segments = dissect(head).segments
        except BadInputError:
            return None
    for segment in segments:
        if segment.type != PT_INTERP:
            continue
        raw = head[segment.offset : segment.offset + segment.filesz]
        interpreter = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        if not interpreter:
            return None
        resolved = root.resolve(interpreter)
        if resolved is None or root.file_node(resolved) is None:
            return (
                f"the command {path} is dynamically linked: it needs the program interpreter {interpreter}, "
                "which is not in the image (link it statically, or add the interpreter and its libraries)"
            )
    return None


def _permitted(entry: TarEntry, bit: int) -> bool:
    """Whether uid/gid 65534 has ``bit`` (1 = x, 4 = r) on the entry, by owner, group or other."""
    if entry.uid == NOBODY_UID:
        return bool(entry.mode & (bit << 6))
    if entry.gid == NOBODY_UID:
        return bool(entry.mode & (bit << 3))
    return bool(entry.mode & bit)
