"""Content digests as a value type: parsed once at the edge, compared as values."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from imagegolf.errors import BadInputError, DigestMismatchError

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, order=True)
class Digest:
    """A ``sha256:<64 hex>`` content address (the only algorithm imagegolf accepts)."""

    hex: str

    def __post_init__(self) -> None:
        if not _HEX64.fullmatch(self.hex):
            raise BadInputError(f"not a sha256 digest: {self.hex!r}")

    algorithm = "sha256"

    @classmethod
    def of(cls, data: bytes) -> Digest:
        """The digest of exactly these bytes."""
        return cls(hashlib.sha256(data).hexdigest())

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<hex>``; anything else is a :class:`BadInputError`."""
        algorithm, sep, hex_part = text.partition(":")
        if not sep or algorithm != "sha256":
            raise BadInputError(
                f"unsupported digest {text!r}",
                hint="imagegolf accepts only sha256:<64 lowercase hex> digests",
            )
        return cls(hex_part)

    def verify(self, data: bytes, *, what: str = "blob") -> None:
        """Raise :class:`DigestMismatchError` unless ``data`` hashes to this digest."""
        actual = Digest.of(data)
        if actual != self:
            raise DigestMismatchError(f"{what} content is {actual}, but it is named {self}")

    @property
    def short(self) -> str:
        """The 12-hex-digit form engines show as an image ID."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"sha256:{self.hex}"
