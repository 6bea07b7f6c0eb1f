"""Fixed bytes the oci and store tests build images from."""

from __future__ import annotations

# Any fixed 73 bytes: the record image's payload for the golden digest (not meant to run).
RECORD_PAYLOAD = bytes(range(7, 7 + 73 * 3, 3))

# Brian Raiter's 45-byte "teensy" i386 ELF with `mov bl, 0`: exits 0 on any ia32-capable kernel.
TEENSY_EXIT_0 = bytes.fromhex(
    "7f454c4601000000000000000000010002000300200001002000010004000000b30031c040cd80003400200001"
)
