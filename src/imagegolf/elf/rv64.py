"""The few RISC-V instructions the riscv64 program uses, encoded by hand (RISC-V ISA manual:
RV32I base, "C" compressed extension).

Each encoder returns the instruction: 32 bits for the base ISA, 16 bits for RVC. ``put32`` /
``put16`` lay them out little-endian. Jump offsets are relative to the instruction's address.
"""

from __future__ import annotations

ZERO, A0, A1, A2, A7 = 0, 10, 11, 12, 17
ECALL = 0x00000073


def _signed(value: int, bits: int, what: str) -> int:
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise ValueError(f"{what}: {value} does not fit {bits} signed bits")
    return value & ((1 << bits) - 1)


def addi(rd: int, rs1: int, imm: int) -> int:
    """addi rd, rs1, imm12 (I-type; li rd, imm is addi rd, zero, imm)."""
    return _signed(imm, 12, "addi") << 20 | rs1 << 15 | rd << 7 | 0x13


def lui(rd: int, imm20: int) -> int:
    """lui rd, imm20: rd = sign-extended imm20 << 12."""
    if not 0 <= imm20 < 1 << 20:
        raise ValueError(f"lui: {imm20} does not fit 20 bits")
    return imm20 << 12 | rd << 7 | 0x37


def auipc(rd: int, imm20: int) -> int:
    """auipc rd, imm20: rd = pc + (imm20 << 12)."""
    if not 0 <= imm20 < 1 << 20:
        raise ValueError(f"auipc: {imm20} does not fit 20 bits")
    return imm20 << 12 | rd << 7 | 0x17


def li_parts(value: int) -> tuple[int, int]:
    """(hi20, lo12) such that lui rd, hi20; addi rd, rd, lo12 loads ``value`` (0 <= value < 2**31 - 2**11)."""
    if not 0 <= value < (1 << 31) - (1 << 11):
        raise ValueError(f"li: {value} out of range")
    hi = (value + 0x800) >> 12
    return hi, value - (hi << 12)


def c_li(rd: int, imm: int) -> int:
    """c.li rd, imm6 (rd != 0)."""
    imm = _signed(imm, 6, "c.li")
    return 0x4001 | (imm >> 5) << 12 | rd << 7 | (imm & 0x1F) << 2


def c_addi(rd: int, imm: int) -> int:
    """c.addi rd, nzimm6."""
    if imm == 0:
        raise ValueError("c.addi: the immediate must be non-zero")
    imm = _signed(imm, 6, "c.addi")
    return 0x0001 | (imm >> 5) << 12 | rd << 7 | (imm & 0x1F) << 2


def c_j(offset: int) -> int:
    """c.j offset: imm[11|4|9:8|10|6|7|3:1|5] in bits 12..2, +-2 KiB, even."""
    if offset % 2:
        raise ValueError(f"c.j: odd offset {offset}")
    i = _signed(offset, 12, "c.j")

    def bit(n: int) -> int:
        return (i >> n) & 1

    field = (
        bit(11) << 10
        | bit(4) << 9
        | bit(9) << 8
        | bit(8) << 7
        | bit(10) << 6
        | bit(6) << 5
        | bit(7) << 4
        | bit(3) << 3
        | bit(2) << 2
        | bit(1) << 1
        | bit(5)
    )
    return 0xA001 | field << 2


def put32(*instructions: int) -> bytes:
    """32-bit instructions, little-endian, in order."""
    return b"".join(word.to_bytes(4, "little") for word in instructions)


def put16(*instructions: int) -> bytes:
    """16-bit (RVC) instructions, little-endian, in order."""
    return b"".join(half.to_bytes(2, "little") for half in instructions)
