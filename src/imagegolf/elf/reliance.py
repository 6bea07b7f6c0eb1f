"""What a layout relies on, as typed values: the risks a profile takes, named one by one.

Pure: values only. A layout (catalog.py) lists the things beyond "a Linux ELF loader of the
last ten years" that its bytes need: a property of the process it starts in (stdin, argc, the
address-space limit), of the message (its length, some of its bytes), of the verdict it gets
(a non-zero exit status) or of the loader (kernels, emulators and sandboxes it fails under).
Message conditions are checked when a program is built (``holds``); the builder then falls back
to the next layout. The others are facts of the run: ``imagegolf build`` prints them and
``imagegolf explain`` shows them, and tests/elf breaks each one to show the failure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar


class Loader(enum.StrEnum):
    """Who reads the file to start it."""

    LINUX = "the Linux kernel"
    IA32_EMULATION = "Linux's ia32 emulation"
    QEMU_USER = "qemu-user"  # qemu-<arch>-static FILE, and binfmt_misc through it
    GVISOR = "gVisor (runsc)"


class Reliance:
    """Something a layout needs beyond a Linux ELF loader. Subclasses name what.

    Each subclass is a frozen dataclass; this base holds no field, so it is a plain class (a
    dataclass costs ~0.5 ms to create at import, and every `imagegolf build` imports this module).
    """

    kind: ClassVar[str] = "reliance"

    def describe(self) -> str:
        raise NotImplementedError

    def holds(self, message: bytes) -> bool:
        """Whether ``message`` satisfies it; only message conditions can fail here."""
        return True

    @property
    def about_message(self) -> bool:
        """True for conditions on the message, which the builder checks and falls back on."""
        return False


@dataclass(frozen=True)
class StdinZeroRead(Reliance):
    """The layout starts with ``read(0, NULL, 0)`` to learn its own address from rcx.

    Its result is not used, so /dev/null, a pipe, a file, a terminal in the foreground and a
    closed fd all work (a failed read costs one more, failing, system call before the exit).
    A zero-byte read that does not return stops the program: a terminal read from a background
    process group (SIGTTIN), or a FUSE file that blocks.
    """

    kind: ClassVar[str] = "stdin"

    def describe(self) -> str:
        return (
            "stdin: a zero-byte read of fd 0 returns (any result: /dev/null, a pipe, a closed fd); "
            "a terminal read from the background stops it (SIGTTIN)"
        )


@dataclass(frozen=True)
class AddressSpace(Reliance):
    """The program's PT_LOAD reserves ``size`` bytes of address space (p_memsz).

    The whole range counts against RLIMIT_AS (`ulimit -v`); a writable one (the 4.3 GB ET_DYN
    segments) also against the commit limit: it fails under a lower RLIMIT_AS, or with
    vm.overcommit_memory=2 and less commit left. Pages past the file are never touched, so RAM
    and the container's memory limit do not matter. The portable layouts map hundreds of MB
    too (p_memsz doubles as code or as e_entry): RLIMIT_AS is unlimited by default.
    """

    kind: ClassVar[str] = "address-space"
    size: int

    def describe(self) -> str:
        amount = f"{self.size / 1e9:.1f} GB" if self.size >= 10**9 else f"{-(-self.size // 10**6)} MB"
        return (
            f"address space: maps {amount} (p_memsz), never touched; fails under `ulimit -v` "
            f"below that{', or vm.overcommit_memory=2' if self.size >= 10**9 else ''}"
        )


@dataclass(frozen=True)
class ArgCount(Reliance):
    """argc as the program expects it (the image's CMD sets it)."""

    kind: ClassVar[str] = "argc"
    minimum: int = 1
    maximum: int | None = None
    why: str = ""

    def describe(self) -> str:
        if self.maximum == self.minimum:
            count = f"argc = {self.minimum}"
        elif self.maximum is None:
            count = f"argc ≥ {self.minimum}"
        else:
            count = f"{self.minimum} ≤ argc ≤ {self.maximum}"
        return f"{count}{': ' + self.why if self.why else ''}"


@dataclass(frozen=True)
class MessageLength(Reliance):
    """A condition on the message length: a range, and bits that must be clear."""

    kind: ClassVar[str] = "message"
    minimum: int = 1
    maximum: int | None = None
    clear_bits: int = 0  # length & clear_bits must be 0
    why: str = ""

    def holds(self, message: bytes) -> bool:
        length = len(message)
        if length < self.minimum or (self.maximum is not None and length > self.maximum):
            return False
        return length & self.clear_bits == 0

    @property
    def about_message(self) -> bool:
        return True

    def describe(self) -> str:
        parts = []
        if self.maximum is not None:
            parts.append(f"{self.minimum} ≤ length ≤ {self.maximum}")
        elif self.minimum > 1:
            parts.append(f"length ≥ {self.minimum}")
        if self.clear_bits:
            parts.append(f"length & {self.clear_bits:#x} = 0")
        why = f" ({self.why})" if self.why else ""
        return f"message: {' and '.join(parts)}{why}"


@dataclass(frozen=True)
class MessageWord(Reliance):
    """Message bytes that double as a header field whose value the loader acts on.

    ``offset`` is where the field's bytes start in the message; ``forbidden`` describes the
    values the loader would act on, and ``allows`` is the test.
    """

    kind: ClassVar[str] = "message"
    offset: int
    size: int
    field: str
    forbidden: str

    def holds(self, message: bytes) -> bool:
        word = message[self.offset : self.offset + self.size].ljust(self.size, b"\0")
        value = int.from_bytes(word, "little")
        return not (value > 4096 and value & (value - 1) == 0)  # a power of two above a page

    @property
    def about_message(self) -> bool:
        return True

    def describe(self) -> str:
        end = self.offset + self.size
        return f"message: bytes {self.offset}..{end - 1} are {self.field}, so not {self.forbidden}"


@dataclass(frozen=True)
class NonZeroExit(Reliance):
    """The program prints the message and exits with a status other than 0 (judge --exit any)."""

    kind: ClassVar[str] = "exit-status"
    status: str

    def describe(self) -> str:
        return f"exit status: {self.status}, not 0 (accepted only where the exit status is free)"


@dataclass(frozen=True)
class FailsUnder(Reliance):
    """A loader that refuses the file or runs it wrong, and the rule it trips over."""

    kind: ClassVar[str] = "fails-under"
    loader: Loader
    rule: str

    def describe(self) -> str:
        return f"fails under {self.loader}: {self.rule}"


@dataclass(frozen=True)
class Needs(Reliance):
    """A loader feature the file needs that a host may switch off."""

    kind: ClassVar[str] = "needs"
    loader: Loader
    what: str

    def describe(self) -> str:
        return f"needs {self.loader}: {self.what}"


def broken_by(relies_on: tuple[Reliance, ...], message: bytes) -> tuple[Reliance, ...]:
    """The message conditions among ``relies_on`` that ``message`` breaks."""
    return tuple(r for r in relies_on if r.about_message and not r.holds(message))
