"""HTTP/1.1 on the wire for the registry client: a request's head, an answer's head and the
framing of its body (RFC 9112). No I/O of its own: it reads through a :class:`Buffered` reader
over any ``recv``.

Written for the registry adapter instead of ``http.client``, whose ``email`` header parser costs
more start-up than a whole ``imagegolf push`` is allowed (docs/benchmarks.md). It keeps
http.client's limits on what a server may send (a line of at most :data:`MAX_LINE` bytes, at
most :data:`MAX_HEADERS` lines in a head) and reads what it accepts the same way; tests/registry/
test_wire.py compares the two on generated answers. Where RFC 9112 asks a client to treat an
answer as broken, this reader refuses it (:class:`ProtocolError`) where http.client guesses:

- an invalid or conflicting Content-Length (RFC 9112 §6.3 rule 5: "an unrecoverable error";
  http.client reads such a body to the end of the connection);
- the end of the connection inside the head (http.client takes what arrived as a whole head);
- a chunk not followed by CRLF, a chunk size that is not hexadecimal digits (§7.1: http.client
  lets ``int(…, 16)`` take ``0x10``, ``+1`` or ``1_0``);
- a field line without a colon, or with whitespace before it (§5.1).

An HTTP/1.0 answer keeps its connection only when its Connection field says ``keep-alive``
(RFC 9112 §9.3); http.client also keeps it for a Keep-Alive or Proxy-Connection field alone. Closing
a connection is always safe: this only costs a reconnect.

Every interim (1xx) answer before the final one is skipped (RFC 9110 §15.2: "A client MUST be able
to parse one or more 1xx responses received prior to a final response"); http.client skips only
100 and returns any other 1xx as the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import overload

MAX_LINE = 65536  # bytes in one line of a head or a chunk size (http.client's _MAXLINE)
# Lines after the status line, folded ones and the blank one that ends the head included (as
# http.client counts its _MAXHEADERS: at most 99 fields); the same cap holds for a trailer.
MAX_HEADERS = 100
MAX_INTERIM = 16  # 1xx answers before the final one (RFC 9110 sets no limit; one is usual)
RECV_SIZE = 64 * 1024
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")  # a chunk size; 16 digits cover any size a disk holds
_STATUS = re.compile(rb"HTTP/1\.([0-9]) ([0-9]{3})(?: (.*))?")  # RFC 9112 §4 status-line
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")  # as http.client's _contains_disallowed_url_pchar_re
_BAD_VALUE = re.compile(r"[\r\n\x00]")  # a field value that would end the line (header injection)
METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})  # http.client's _METHODS_EXPECTING_BODY


class ProtocolError(Exception):
    """The server's answer breaks HTTP/1.1 (its connection cannot be reused)."""


class Buffered:
    """Bytes from ``recv`` with a buffer that outlives one answer (a kept-alive connection reads
    the next answer from it)."""

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._buffer = bytearray()

    def pending(self) -> bool:
        """Bytes arrived that no answer has read yet."""
        return bool(self._buffer)

    def _fill(self) -> bool:
        data = self._recv(RECV_SIZE)
        self._buffer += data
        return bool(data)

    def readline(self) -> bytes:
        """One line with its ``\\n``; what is left before the end of the connection (maybe b"").
        A line longer than :data:`MAX_LINE` is a ProtocolError."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end + 1 > MAX_LINE:
                    break
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE:
                break
            start = len(self._buffer)
            if not self._fill():
                line = bytes(self._buffer)
                self._buffer.clear()
                return line
        raise ProtocolError(f"the server sent a line longer than {MAX_LINE} bytes")

    def read(self, limit: int) -> bytes:
        """At most ``limit`` bytes (at least one unless the connection ended)."""
        if not self._buffer and not self._fill():
            return b""
        piece = bytes(self._buffer[:limit])
        del self._buffer[:limit]
        return piece


@dataclass(frozen=True)
class Headers:
    """An answer's header fields (values decoded as ISO-8859-1, as http.client), looked up
    without regard to case; repeated fields are joined with ", " (RFC 9110 §5.3), as requests did."""

    fields: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        """The value of every ``name`` field, in order."""
        wanted = name.lower()
        return [value for key, value in self.fields if key.lower() == wanted]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated list elements of every ``name`` field, lower case (RFC 9110 §5.6.1)."""
        items = (item.strip().lower() for value in self.values(name) for item in value.split(","))
        return [item for item in items if item]

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.values(name)
        return ", ".join(values) if values else default

    def __getitem__(self, name: str) -> str:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


@dataclass(frozen=True)
class Head:
    """An answer's status line and header fields."""

    version: int  # 10 for HTTP/1.0, 11 for HTTP/1.1 (and any later 1.x)
    status: int
    reason: str
    headers: Headers


def request_head(method: str, target: str, host: str, fields: dict[str, str], body: bytes | None) -> bytes:
    """The bytes of a request's head. Raises ValueError for a method, target or field that would
    break the message (a CR or LF smuggled into a value would start a header of its own)."""
    if not _TOKEN.fullmatch(method.encode("latin-1", "replace")):
        raise ValueError(f"invalid HTTP method {method!r}")
    if not target or _BAD_TARGET.search(target):
        raise ValueError(f"invalid request target {target!r}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    named = {name.lower() for name in fields}
    if "accept-encoding" not in named:
        lines.append("Accept-Encoding: identity")  # as http.client: no compressed answers
    for name, value in fields.items():
        if not _TOKEN.fullmatch(name.encode("latin-1", "replace")) or _BAD_VALUE.search(value):
            raise ValueError(f"invalid HTTP header {name!r}")
        lines.append(f"{name}: {value}")
    if "content-length" not in named and (body is not None or method in METHODS_WITH_BODY):
        lines.append(f"Content-Length: {len(body or b'')}")  # RFC 9110 §8.6, as http.client
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_head(reader: Buffered) -> Head:
    """The final answer's head, any interim (1xx) answers before it skipped (at most
    :data:`MAX_INTERIM`: a server streaming them forever is refused, not followed)."""
    for _ in range(MAX_INTERIM + 1):
        line = reader.readline()
        if not line:
            raise ProtocolError("the server closed the connection without an answer")
        matched = _STATUS.fullmatch(line.rstrip(b"\r\n"))
        if matched is None:
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
        version = 10 if matched.group(1) == b"0" else 11
        status = int(matched.group(2))
        if status < 100:
            raise ProtocolError(f"invalid HTTP status {status}")
        fields = _read_fields(reader, "head")
        if status >= 200:
            reason = (matched.group(3) or b"").decode("latin-1").strip()
            return Head(version, status, reason, Headers(fields))
    raise ProtocolError(f"the server sent more than {MAX_INTERIM} interim (1xx) answers")


def _read_fields(reader: Buffered, where: str) -> tuple[tuple[str, str], ...]:
    fields: list[tuple[str, str]] = []
    for _ in range(MAX_HEADERS):
        line = reader.readline()
        if not line.endswith(b"\n"):
            raise ProtocolError(f"the connection ended inside the answer's {where}")
        text = line.rstrip(b"\r\n")
        if not text:
            return tuple(fields)
        if text[:1] in (b" ", b"\t"):  # obs-fold: joined with a space (RFC 9112 §5.2)
            if not fields:
                raise ProtocolError(f"the answer's {where} starts with a folded line")
            folded, before = fields[-1]
            fields[-1] = (folded, f"{before} {text.strip().decode('latin-1')}".strip())
            continue
        name, colon, value = text.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise ProtocolError(f"invalid header line in the answer's {where}: {text[:80]!r}")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    raise ProtocolError(f"the answer's {where} has more than {MAX_HEADERS} lines")


class Framing(Enum):
    """How an answer's body ends (RFC 9112 §6.3)."""

    NONE = "none"  # HEAD, 204, 304: no body whatever the fields say
    LENGTH = "length"  # Content-Length bytes
    CHUNKED = "chunked"  # chunks, the last of size 0, then a trailer
    UNTIL_CLOSE = "until-close"  # everything until the server closes the connection


class Body:
    """An answer's body as its head frames it (RFC 9112 §6.3): none (HEAD, 1xx, 204, 304),
    Content-Length bytes, chunks, or everything until the connection ends."""

    def __init__(self, reader: Buffered, method: str, head: Head) -> None:
        self._reader = reader
        self.length: int | None = None  # bytes left of a Content-Length body
        self._chunk = 0  # bytes left of the current chunk
        coding = head.headers.tokens("Transfer-Encoding")
        if method == "HEAD" or head.status in (204, 304):
            self.kind = Framing.NONE
        elif coding:  # Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 rule 3)
            self.kind = Framing.CHUNKED if coding[-1] == "chunked" else Framing.UNTIL_CLOSE
        elif head.headers.values("Content-Length"):
            self.kind = Framing.LENGTH
            self.length = content_length(head)
        else:
            self.kind = Framing.UNTIL_CLOSE
        self.done = self.kind is Framing.NONE or self.length == 0
        connection = head.headers.tokens("Connection")
        self.keep_alive = (
            self.kind is not Framing.UNTIL_CLOSE
            and "close" not in connection
            and (head.version >= 11 or "keep-alive" in connection)
            and not (coding and head.headers.values("Content-Length"))  # smuggling-shaped: close after it
        )

    def read(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body (b"" once it ended). Raises ProtocolError for a body
        that ends early or breaks the chunked format, OSError for the connection's errors."""
        if self.done or limit <= 0:
            return b""
        if self.kind is Framing.CHUNKED:
            return self._read_chunked(limit)
        want = limit if self.length is None else min(limit, self.length)
        piece = self._reader.read(want)
        if self.length is None:
            self.done = not piece
            return piece
        if not piece:
            raise ProtocolError(f"the answer's body ended {self.length} bytes short of its Content-Length")
        self.length -= len(piece)
        self.done = self.length == 0
        return piece

    def _read_chunked(self, limit: int) -> bytes:
        if self._chunk == 0:
            self._chunk = self._chunk_size()
            if self._chunk == 0:
                _read_fields(self._reader, "trailer")  # read and dropped, as http.client
                self.done = True
                return b""
        piece = self._reader.read(min(limit, self._chunk))
        if not piece:
            raise ProtocolError("the connection ended inside a chunk")
        self._chunk -= len(piece)
        if self._chunk == 0 and self._reader.readline() not in (b"\r\n", b"\n"):
            raise ProtocolError("a chunk of the answer is not followed by CRLF")
        return piece

    def _chunk_size(self) -> int:
        line = self._reader.readline()
        if not line.endswith(b"\n"):
            raise ProtocolError("the connection ended inside a chunk size")
        size = line.split(b";", 1)[0].strip(b" \t\r\n")  # chunk extensions are ignored (§7.1.1)
        if not _HEX.fullmatch(size):
            raise ProtocolError(f"invalid chunk size {line[:40]!r}")
        return int(size, 16)


def content_length(head: Head) -> int:
    """The one Content-Length of ``head`` (equal repeats allowed, RFC 9110 §8.6); anything else
    is an unrecoverable framing error (RFC 9112 §6.3 rule 5)."""
    items = {item.strip() for value in head.headers.values("Content-Length") for item in value.split(",")}
    if len(items) != 1:
        raise ProtocolError(f"conflicting Content-Length values: {sorted(items)}")
    (item,) = items
    if not item.isascii() or not item.isdigit() or len(item) > 18:
        raise ProtocolError(f"invalid Content-Length {item[:40]!r}")
    return int(item)
