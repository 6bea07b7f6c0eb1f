"""The few 16-bit Thumb instructions the arm32 program uses, encoded by hand (Arm ARM, Thumb-1).

Thumb-1 exists on ARMv5T(E), ARMv6 and ARMv7 alike, so one encoding serves linux/arm/v5, v6
and v7. Each encoder returns the 16-bit halfword; ``halfwords`` lays them out little-endian.
PC-relative offsets are byte distances from the instruction's own address, as in the
assembler: Thumb reads PC as the instruction's address + 4, rounded down to a word.
"""

from __future__ import annotations

LOW_REGISTERS = range(8)  # Thumb-1 data-processing encodings reach r0-r7 only


def _low(register: int) -> int:
    if register not in LOW_REGISTERS:
        raise ValueError(f"r{register} is not a low register")
    return register


def _word_offset(at: int, target: int, what: str) -> int:
    """imm8 of adr / ldr (literal): (target - Align(at + 4, 4)) / 4, forward only."""
    distance = target - ((at + 4) & ~3)
    if distance % 4 or not 0 <= distance // 4 < 256:
        raise ValueError(f"{what}: target {target} out of reach from {at}")
    return distance // 4


def movs_imm(rd: int, imm: int) -> int:
    """movs rd, #imm8 (sets N and Z)."""
    if not 0 <= imm < 256:
        raise ValueError(f"movs: immediate {imm} does not fit 8 bits")
    return 0x2000 | _low(rd) << 8 | imm


def movs_reg(rd: int, rm: int) -> int:
    """movs rd, rm: the encoding of lsls rd, rm, #0 (halfword 0x00XX)."""
    return _low(rm) << 3 | _low(rd)


def adr(rd: int, at: int, target: int) -> int:
    """adr rd, label (add rd, pc, #imm8 * 4): ``target`` must be word-aligned."""
    return 0xA000 | _low(rd) << 8 | _word_offset(at, target, "adr")


def ldr_literal(rt: int, at: int, target: int) -> int:
    """ldr rt, [pc, #imm8 * 4]: the word at ``target``."""
    return 0x4800 | _low(rt) << 8 | _word_offset(at, target, "ldr (literal)")


def svc(imm: int) -> int:
    """svc #imm8: in Thumb state Linux (and qemu) take the syscall number from r7, never imm8."""
    if not 0 <= imm < 256:
        raise ValueError(f"svc: immediate {imm} does not fit 8 bits")
    return 0xDF00 | imm


def halfwords(*instructions: int) -> bytes:
    """Instruction halfwords, little-endian, in order."""
    return b"".join(half.to_bytes(2, "little") for half in instructions)
