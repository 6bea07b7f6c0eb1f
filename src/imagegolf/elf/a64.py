"""The few A64 instructions the arm64 programs use, encoded by hand (Arm ARM, chapter C6).

Each encoder returns the 32-bit instruction word; ``words`` lays them out little-endian.
Offsets are in bytes, relative to the instruction's own address, as in the assembler.
"""

from __future__ import annotations

XZR = SP = 31  # register 31 is xzr or sp depending on the instruction
SVC_0 = 0xD4000001  # svc #0


def _signed(value: int, bits: int, scale: int, what: str) -> int:
    if value % scale or not -(1 << (bits - 1)) <= value // scale < 1 << (bits - 1):
        raise ValueError(f"{what}: offset {value} does not fit")
    return (value // scale) & ((1 << bits) - 1)


def adr(rd: int, offset: int) -> int:
    """adr xd, label: immlo in bits 29..30, immhi in 5..23, ±1 MiB."""
    imm = _signed(offset, 21, 1, "adr")
    return 0x10000000 | (imm & 3) << 29 | (imm >> 2) << 5 | rd


def b(offset: int) -> int:
    """b label: imm26 words, ±128 MiB."""
    return 0x14000000 | _signed(offset, 26, 4, "b")


def cbnz_w(rt: int, offset: int) -> int:
    """cbnz wt, label: imm19 words."""
    return 0x35000000 | _signed(offset, 19, 4, "cbnz") << 5 | rt


def ldp_w(rt1: int, rt2: int, rn: int, offset: int) -> int:
    """ldp wt1, wt2, [xn, #offset]: signed imm7, scaled by 4."""
    return 0x29400000 | _signed(offset, 7, 4, "ldp") << 15 | rt2 << 10 | rn << 5 | rt1


def ldr_w_literal(rt: int, offset: int) -> int:
    """ldr wt, label: the 32-bit word at a PC-relative label, imm19 words, ±1 MiB."""
    return 0x18000000 | _signed(offset, 19, 4, "ldr (literal)") << 5 | rt


def ldr_x(rt: int, rn: int, offset: int) -> int:
    """ldr xt, [xn, #offset]: unsigned imm12, scaled by 8."""
    if offset % 8 or not 0 <= offset < 8 << 12:
        raise ValueError(f"ldr: offset {offset} does not fit")
    return 0xF9400000 | (offset // 8) << 10 | rn << 5 | rt


def ldrb_reg(rt: int, rn: int, rm: int) -> int:
    """ldrb wt, [xn, xm]."""
    return 0x38606800 | rm << 16 | rn << 5 | rt


def add_x(rd: int, rn: int, imm: int) -> int:
    """add xd, xn, #imm (imm12, unshifted)."""
    if not 0 <= imm < 1 << 12:
        raise ValueError(f"add: immediate {imm} does not fit")
    return 0x91000000 | imm << 10 | rn << 5 | rd


def mov_w(rd: int, imm: int) -> int:
    """mov wd, #imm (movz, imm16, unshifted)."""
    if not 0 <= imm < 1 << 16:
        raise ValueError(f"mov: immediate {imm} does not fit")
    return 0x52800000 | imm << 5 | rd


def mov_x(rd: int, rm: int) -> int:
    """mov xd, xm (orr xd, xzr, xm)."""
    return 0xAA0003E0 | rm << 16 | rd


def words(*instructions: int) -> bytes:
    """Instruction words, little-endian, in order."""
    return b"".join(word.to_bytes(4, "little") for word in instructions)
