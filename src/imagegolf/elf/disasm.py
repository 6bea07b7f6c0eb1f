"""Disassembly of the code a tiny ELF runs, from its entry point, with capstone.

Pure: bytes in, instructions out. Starts at ``e_entry`` (mapped to a file offset through the
PT_LOAD that maps it), follows straight-line code, unconditional jumps and branches (each
address once, so loops end) and conditional branch targets, and stops at the end of the file,
an invalid instruction, a return, a data range, or a system call that does not return.

Register values are tracked as far as simple moves and arithmetic allow, starting from the
loader's all-zero registers (docs/elf.md), so system calls read as ``write(1, 0x10020, 24)``
and the path stops after ``exit(42)`` instead of decoding the header bytes behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import capstone
from capstone import arm64 as cs_arm64
from capstone import x86 as cs_x86

from imagegolf.elf.anatomy import Anatomy, dissect
from imagegolf.elf.spec import EM_386, EM_AARCH64, EM_X86_64

MAX_INSTRUCTIONS = 512  # enough for any hand-made ELF; big binaries get their entry code only


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction."""

    offset: int  # in the file
    address: int  # where the loader maps it
    raw: bytes
    mnemonic: str
    op_str: str
    comment: str = ""  # "exit(42)", "jumps to file offset 0x20"

    @property
    def end(self) -> int:
        return self.offset + len(self.raw)

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()


@dataclass(frozen=True)
class _Abi:
    """How one architecture asks the kernel for a system call."""

    number: str
    args: tuple[str, ...]
    ret: str
    clobbers: tuple[str, ...]
    names: Mapping[int, str]


_I386 = _Abi("rax", ("rbx", "rcx", "rdx", "rsi", "rdi", "rbp"), "rax", (),
             {1: "exit", 3: "read", 4: "write", 11: "execve", 252: "exit_group"})
_AMD64 = _Abi("rax", ("rdi", "rsi", "rdx", "r10", "r8", "r9"), "rax", ("rcx", "r11"),
              {0: "read", 1: "write", 59: "execve", 60: "exit", 231: "exit_group"})
_ARM64 = _Abi("x8", ("x0", "x1", "x2", "x3", "x4", "x5"), "x0", (),
              {63: "read", 64: "write", 93: "exit", 94: "exit_group", 221: "execve"})
_ARITY = {"exit": 1, "exit_group": 1, "read": 3, "write": 3, "execve": 3}
_NO_RETURN = ("exit", "exit_group")


def _x86_registers() -> dict[str, tuple[str, int, int]]:
    """Register name → (the full register it is part of, width in bits, bit shift)."""
    table: dict[str, tuple[str, int, int]] = {}
    for x in "abcd":
        full = f"r{x}x"
        table |= {full: (full, 64, 0), f"e{x}x": (full, 32, 0), f"{x}x": (full, 16, 0),
                  f"{x}l": (full, 8, 0), f"{x}h": (full, 8, 8)}
    for x in ("si", "di", "bp", "sp"):
        full = f"r{x}"
        table |= {full: (full, 64, 0), f"e{x}": (full, 32, 0), x: (full, 16, 0), f"{x}l": (full, 8, 0)}
    for n in range(8, 16):
        full = f"r{n}"
        table |= {full: (full, 64, 0), f"{full}d": (full, 32, 0), f"{full}w": (full, 16, 0),
                  f"{full}b": (full, 8, 0)}
    return table


def _arm64_registers() -> dict[str, tuple[str, int, int]]:
    table = {f"x{n}": (f"x{n}", 64, 0) for n in range(31)} | {f"w{n}": (f"x{n}", 32, 0) for n in range(31)}
    return table | {"fp": ("x29", 64, 0), "lr": ("x30", 64, 0), "sp": ("sp", 64, 0), "wsp": ("sp", 32, 0)}


_X86_REGS = _x86_registers()
_ARM64_REGS = _arm64_registers()
_ZERO_REGS = ("xzr", "wzr")


@dataclass
class _State:
    """What is known about registers and the values pushed on the stack, on one path."""

    regs: dict[str, int]
    names: Mapping[str, tuple[str, int, int]]
    word: int
    stack: list[int | None] = field(default_factory=list)
    flags_clear: bool = False  # x86: no instruction yet since exec, so EFLAGS = IF (ZF = SF = OF = CF = 0)

    def copy(self) -> _State:
        return _State(dict(self.regs), self.names, self.word, list(self.stack), self.flags_clear)

    def read(self, name: str) -> int | None:
        if name in _ZERO_REGS:
            return 0
        if name not in self.names or self.names[name][0] not in self.regs:
            return None
        full, width, shift = self.names[name]
        return (self.regs[full] >> shift) & ((1 << width) - 1)

    def write(self, name: str, value: int | None) -> None:
        if name not in self.names:
            return  # xzr, flags, vector registers: not tracked
        full, width, shift = self.names[name]
        if value is None:
            self.regs.pop(full, None)
            if full in ("rsp", "sp"):
                self.stack.clear()
        elif width >= 32:  # 32-bit writes zero-extend on x86-64 and arm64
            self.regs[full] = value & ((1 << width) - 1)
        elif full in self.regs:
            mask = ((1 << width) - 1) << shift
            self.regs[full] = (self.regs[full] & ~mask) | ((value << shift) & mask)


@dataclass(frozen=True)
class _Arch:
    cs_arch: int
    cs_mode: int
    word: int
    regs: Mapping[str, tuple[str, int, int]]
    abi: _Abi
    effect: Callable[[Any, _State], bool]  # models one instruction; False: not modelled


def disassemble(
    data: bytes,
    *,
    anatomy: Anatomy | None = None,
    data_ranges: Sequence[tuple[int, int]] = (),
    limit: int = MAX_INSTRUCTIONS,
) -> list[Instruction]:
    """The instructions reachable from the entry point, ordered by file offset.

    ``data_ranges`` are ``(start, end)`` file offsets known to be data (the message): a path
    that reaches one stops there. Empty for machines other than i386, x86-64 and arm64.
    """
    anatomy = anatomy or dissect(data)
    arch = _arch(anatomy)
    if arch is None:
        return []
    engine = capstone.Cs(arch.cs_arch, arch.cs_mode)
    engine.detail = True
    found: dict[int, Instruction] = {}
    entry = _State({r: 0 for r in _entry_zeroed(arch)}, arch.regs, arch.word, flags_clear=True)
    todo = [(anatomy.entry, entry)]
    while todo and len(found) < limit:
        address, state = todo.pop()
        while address not in found and len(found) < limit:
            offset = anatomy.file_offset(address)
            if offset is None or any(start <= offset < end for start, end in data_ranges):
                break
            insn = next(engine.disasm(data[offset : offset + 16], address, count=1), None)
            if insn is None:
                break
            step = _step(insn, state, arch, anatomy, todo)
            raw = bytes(insn.bytes)
            found[address] = Instruction(offset, address, raw, insn.mnemonic, insn.op_str, step.comment)
            if step.next is None:
                break
            address = step.next
    return sorted(found.values(), key=lambda i: (i.offset, i.address))


def _entry_zeroed(arch: _Arch) -> set[str]:
    # At entry x86 has zero in eax..ebp (and r8-r15); arm64 zeroes every general register.
    return {full for full, _, _ in arch.regs.values() if full not in ("rsp", "sp")}


@dataclass(frozen=True)
class _Step:
    next: int | None  # where this path continues
    comment: str = ""


def _step(insn: Any, state: _State, arch: _Arch, anatomy: Anatomy, todo: list[tuple[int, _State]]) -> _Step:
    after = int(insn.address) + int(insn.size)
    mnemonic = str(insn.mnemonic)
    if mnemonic in ("syscall", "svc") or (mnemonic == "int" and insn.op_str == "0x80"):
        return _syscall(insn, state, arch, after)
    if insn.group(capstone.CS_GRP_INT) or insn.group(capstone.CS_GRP_RET) or mnemonic in ("hlt", "ud2", "br"):
        return _Step(None)  # int3, brk, other traps, returns, indirect jumps: the path ends here
    target = _branch_target(insn)
    if insn.group(capstone.CS_GRP_CALL):
        if target is not None:
            callee = state.copy()
            callee.stack.append(after)  # x86: `call` over data, then `pop`, is how tiny code finds it
            callee.write("x30", after)  # arm64: bl sets the link register (a no-op name on x86)
            todo.append((target, callee))
        state.regs.clear()  # a callee may change any register
        return _Step(after, _target_comment(target, anatomy))
    # x86 `loop` and `jecxz` are in BRANCH_RELATIVE only
    if insn.group(capstone.CS_GRP_JUMP) or insn.group(capstone.CS_GRP_BRANCH_RELATIVE):
        if target is not None and state.flags_clear and mnemonic in _TAKEN_ON_CLEAR_FLAGS:
            comment = _target_comment(target, anatomy) + " (taken: EFLAGS = IF at exec)"
            return _Step(target, comment.lstrip())
        if target is not None and mnemonic not in ("jmp", "b"):
            todo.append((target, state.copy()))  # conditional: both ways
            return _Step(after, _target_comment(target, anatomy))
        return _Step(target, _target_comment(target, anatomy))
    state.flags_clear = False
    if not arch.effect(insn, state):
        try:
            written = insn.regs_access()[1]
        except capstone.CsError:
            state.regs.clear()
        else:
            for reg in written:
                state.write(str(insn.reg_name(reg)), None)
    return _Step(after)


# Conditions true when ZF = SF = OF = CF = PF = 0, as the kernel leaves EFLAGS at exec (only IF
# set: start_thread): "\x7fE" is `jg`, the entry of the ET_DYN layouts (x86_64_dyn.py).
_TAKEN_ON_CLEAR_FLAGS = frozenset({"jg", "jge", "jne", "jns", "jno", "jae", "jnp", "ja"})


def _branch_target(insn: Any) -> int | None:
    """The immediate target of a branch; None for a register or memory target."""
    for op in reversed(insn.operands):
        if op.type in (cs_x86.X86_OP_IMM, cs_arm64.ARM64_OP_IMM):
            return int(op.imm)
        return None
    return None


def _target_comment(target: int | None, anatomy: Anatomy) -> str:
    offset = None if target is None else anatomy.file_offset(target)
    return "" if offset is None else f"to file offset {offset:#x}"


def _syscall(insn: Any, state: _State, arch: _Arch, after: int) -> _Step:
    abi = arch.abi
    if insn.mnemonic == "int":
        abi = _I386  # int 0x80 is the i386 system call, in 64-bit code too
    number = state.read(abi.number)
    name = abi.names.get(number, f"syscall {number:#x}") if number is not None else "syscall ?"
    mask = (1 << (32 if abi is _I386 else arch.word)) - 1
    args = [state.read(reg) for reg in abi.args[: _ARITY.get(name, 3)]]
    shown = ", ".join("?" if a is None else str(a & mask) if a & mask < 256 else hex(a & mask) for a in args)
    if name in _NO_RETURN:
        return _Step(None, f"{name}({shown}): does not return")
    for reg in abi.clobbers:
        state.write(reg, None)
    state.write(abi.ret, args[2] if name == "write" else None)  # assume the write succeeds
    return _Step(after, f"{name}({shown})")


def _x86_effect(insn: Any, state: _State) -> bool:
    m, ops = str(insn.mnemonic), insn.operands
    reg = cs_x86.X86_OP_REG
    names = [str(insn.reg_name(op.reg)) if op.type == reg else "" for op in ops]

    def value(i: int) -> int | None:
        if ops[i].type == reg:
            return state.read(names[i])
        return int(ops[i].imm) if ops[i].type == cs_x86.X86_OP_IMM else None

    if m in ("cdq", "cltd", "cqo", "cqto"):
        src, dst, bits = ("eax", "edx", 32) if m in ("cdq", "cltd") else ("rax", "rdx", 64)
        known = state.read(src)
        state.write(dst, None if known is None else -(known >> (bits - 1)))
        return True
    if m == "push" and ops:
        state.stack.append(value(0))
        return True
    if not ops or ops[0].type != reg:
        return False
    dst = names[0]
    if m in ("xor", "sub") and names[1:] == [dst]:
        state.write(dst, 0)
    elif m == "mov":
        state.write(dst, value(1))
    elif m in _ARITHMETIC and len(ops) == 2:
        a, b = value(0), value(1)
        state.write(dst, None if a is None or b is None else _ARITHMETIC[m](a, b))
    elif m in ("inc", "dec"):
        a = value(0)
        state.write(dst, None if a is None else a + (1 if m == "inc" else -1))
    elif m == "pop":
        state.write(dst, state.stack.pop() if state.stack else None)
    elif m == "xchg" and len(ops) == 2 and ops[1].type == reg:
        a, b = value(0), value(1)
        state.write(dst, b)
        state.write(names[1], a)
    elif m == "lea":
        state.write(dst, _effective_address(insn, ops[1], state))
    else:
        return False
    return True


_ARITHMETIC: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "xor": lambda a, b: a ^ b,
    "or": lambda a, b: a | b, "and": lambda a, b: a & b, "shl": lambda a, b: a << b,
    "shr": lambda a, b: a >> b,
}


def _effective_address(insn: Any, op: Any, state: _State) -> int | None:
    mem = op.mem
    if mem.base == cs_x86.X86_REG_RIP:
        return int(insn.address) + int(insn.size) + int(mem.disp)
    total = int(mem.disp)
    for reg, scale in ((mem.base, 1), (mem.index, int(mem.scale))):
        if reg:
            known = state.read(str(insn.reg_name(reg)))
            if known is None:
                return None
            total += known * scale
    return total


def _arm64_effect(insn: Any, state: _State) -> bool:
    m, ops = str(insn.mnemonic), insn.operands
    if not ops or ops[0].type != cs_arm64.ARM64_OP_REG:
        return False
    dst = str(insn.reg_name(ops[0].reg))

    def value(op: Any) -> int | None:
        if op.type == cs_arm64.ARM64_OP_REG:
            return None if op.shift.type else state.read(str(insn.reg_name(op.reg)))
        if op.type == cs_arm64.ARM64_OP_IMM:
            shift = int(op.shift.value) if op.shift.type == cs_arm64.ARM64_SFT_LSL else 0
            return int(op.imm) << shift
        return None

    if m in ("mov", "movz", "adr", "adrp") and len(ops) == 2:
        state.write(dst, value(ops[1]))
    elif m == "movn" and len(ops) == 2:
        known = value(ops[1])
        state.write(dst, None if known is None else ~known)
    elif m == "movk" and len(ops) == 2:
        old, part = state.read(dst), value(ops[1])
        shift = int(ops[1].shift.value)
        merged = None if old is None or part is None else (old & ~(0xFFFF << shift)) | part
        state.write(dst, merged)
    elif m in ("add", "sub") and len(ops) == 3:
        a, b = value(ops[1]), value(ops[2])
        state.write(dst, None if a is None or b is None else _ARITHMETIC[m](a, b))
    else:
        return False
    return True


def _arch(anatomy: Anatomy) -> _Arch | None:
    machine = anatomy.machine
    if machine == EM_386:
        return _Arch(capstone.CS_ARCH_X86, capstone.CS_MODE_32, 32, _X86_REGS, _I386, _x86_effect)
    if machine == EM_X86_64:
        return _Arch(capstone.CS_ARCH_X86, capstone.CS_MODE_64, 64, _X86_REGS, _AMD64, _x86_effect)
    if machine == EM_AARCH64:
        mode = capstone.CS_MODE_BIG_ENDIAN if anatomy.layout.byteorder == "big" else capstone.CS_MODE_ARM
        return _Arch(capstone.CS_ARCH_ARM64, mode, 64, _ARM64_REGS, _ARM64, _arm64_effect)
    return None
