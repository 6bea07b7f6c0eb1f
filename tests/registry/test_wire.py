"""registry/wire.py against the reference it replaced: the standard library's http.client reads
the same generated answers (status, reason, fields, body, whether the connection can be kept), and
both refuse what http.client refuses (a line over 64 KiB, more than 100 fields, a body shorter than
its framing). Where wire.py is deliberately stricter (its docstring lists where, with the RFC
rule), examples below pin the refusal."""

from __future__ import annotations

import contextlib
import http.client
import io
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegolf.registry.wire import (
    MAX_HEADERS,
    MAX_INTERIM,
    MAX_LINE,
    Body,
    Buffered,
    ProtocolError,
    read_head,
    request_head,
)


@dataclass(frozen=True)
class Read:
    status: int
    reason: str
    fields: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


def ours(answer: bytes, method: str, recv_size: int = 7) -> Read:
    stream = io.BytesIO(answer)
    reader = Buffered(lambda size: stream.read(min(size, recv_size)))  # odd pieces: lines split
    head = read_head(reader)
    body = Body(reader, method, head)
    data = b""
    while piece := body.read(5):
        data += piece
    return Read(head.status, head.reason, list(head.headers.fields), data, body.keep_alive)


class _Socket:
    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.answer))  # type: ignore[arg-type]


def reference(answer: bytes, method: str) -> Read:
    response = http.client.HTTPResponse(_Socket(answer), method=method)  # type: ignore[arg-type]
    response.begin()
    body = response.read()
    return Read(response.status, response.reason, response.getheaders(), body, not response.will_close)


_token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~",
    min_size=1,
    max_size=12,
)
# Framing and persistence fields are drawn on purpose below; Keep-Alive and Proxy-Connection alone
# keep an HTTP/1.0 connection open for http.client, not for wire.py (see its docstring).
_FRAMING = {"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection"}
_plain_name = _token.filter(lambda n: n.lower() not in _FRAMING)
_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(
    lambda v: v.strip()
)
_value_with_inner_spaces = st.lists(_value.filter(bool), min_size=1, max_size=3).map(" ".join)
_body = st.binary(max_size=300)


@dataclass(frozen=True)
class Answer:
    head: bytes  # interim answers included
    payload: bytes  # the body as framed on the wire
    method: str
    framing: str

    @property
    def whole(self) -> bytes:
        return self.head + self.payload


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    method = draw(st.sampled_from(["GET", "HEAD", "PUT"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    status = draw(st.sampled_from([200, 201, 202, 204, 206, 301, 304, 307, 400, 401, 404, 429, 500, 503]))
    reason = draw(st.sampled_from(["", "OK", "Not Found", "Whatever It Says"]))
    preface = draw(st.sampled_from([b"", b"HTTP/1.1 100 Continue\r\n\r\n"]))
    fields = draw(st.lists(st.tuples(_plain_name, st.one_of(_value, _value_with_inner_spaces)), max_size=8))
    connection = draw(st.sampled_from([None, "close", "keep-alive", "Keep-Alive", "upgrade, close"]))
    if connection is not None:
        fields.insert(draw(st.integers(0, len(fields))), ("Connection", connection))
    body = draw(_body)
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if status in (204, 304) or method == "HEAD":
        framing = draw(st.sampled_from(["length", "none"]))
    payload = b""
    if framing == "length":
        fields.append((draw(st.sampled_from(["Content-Length", "content-length"])), str(len(body))))
        payload = b"" if status in (204, 304) or method == "HEAD" else body
    elif framing == "chunked":
        fields.append(("Transfer-Encoding", draw(st.sampled_from(["chunked", "Chunked"]))))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True) if body[a:b]]
        ext = draw(st.sampled_from(["", ";name=value", ";a"]))
        payload = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext.encode(), p) for p in pieces)
        trailer = draw(st.sampled_from([b"", b"Trailer-Field: x\r\n"]))
        payload += b"0\r\n" + trailer + b"\r\n"
    elif framing == "close":
        payload = body
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    head = f"{version} {status}{' ' + reason if reason else ''}".encode() + eol
    head += b"".join(f"{name}: {value}".encode() + eol for name, value in fields) + eol
    return Answer(preface + head, payload, method, framing)


@settings(max_examples=400)
@given(answers())
def test_wire_reads_answers_as_http_client_does(answer: Answer) -> None:
    assert ours(answer.whole, answer.method) == reference(answer.whole, answer.method)


@settings(max_examples=150)
@given(answers().filter(lambda a: a.framing == "chunked" or (a.framing == "length" and a.payload)), st.data())
def test_an_answer_cut_short_in_its_body_is_refused_by_both(answer: Answer, data: st.DataObject) -> None:
    """Cut inside the data: http.client takes a chunked body cut inside its last chunk (``0``
    and the trailer) as whole; wire.py refuses that too (an example below)."""
    end = answer.payload.rindex(b"0\r\n") if answer.framing == "chunked" else len(answer.payload)
    cut = answer.head + answer.payload[: data.draw(st.integers(0, max(0, end - 1)))]
    with pytest.raises(http.client.HTTPException):
        reference(cut, answer.method)
    with pytest.raises(ProtocolError):
        ours(cut, answer.method)


def _too_long_line() -> bytes:
    return b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_LINE + b"\r\nContent-Length: 0\r\n\r\n"


def _too_many_fields() -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"Content-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    "answer", [_too_long_line(), _too_many_fields()], ids=["line over 64 KiB", "101 fields"]
)
def test_both_refuse_what_http_client_caps(answer: bytes) -> None:
    with pytest.raises(http.client.HTTPException):
        reference(answer, "GET")
    with pytest.raises(ProtocolError, match=r"longer than|more than"):
        ours(answer, "GET")


def test_the_caps_themselves_are_allowed() -> None:
    line = b"X: " + b"a" * (MAX_LINE - 5) + b"\r\n"
    assert len(line) == MAX_LINE  # and MAX_HEADERS lines: 99 fields and the blank line
    at_caps = b"HTTP/1.1 200 OK\r\n" + line + b"Y: z\r\n" * (MAX_HEADERS - 3) + b"Content-Length: 0\r\n\r\n"
    assert ours(at_caps, "GET") == reference(at_caps, "GET")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "conflicting Content-Length",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5", "ended inside the answer's head"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
            "invalid chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
            "not followed by CRLF",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0", "inside a chunk size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n",
            "inside the answer's trailer",
        ),
        (b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "invalid header line"),
        (b"HTTP/1.1 200 OK\r\nName : value\r\n\r\n", "invalid header line"),
        (b"HTTP/2 200\r\n\r\n", "status line"),
        (b"", "without an answer"),
        (b"HTTP/1.1 103 Early Hints\r\n\r\n" * (MAX_INTERIM + 1) + b"HTTP/1.1 200 OK\r\n\r\n", "interim"),
    ],
)
def test_wire_refuses_what_rfc_9112_calls_broken(answer: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        ours(answer, "GET")


def test_interim_answers_are_skipped_and_folded_lines_joined() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\nContent-Length: 2\r\n\r\nok"
    )
    read = ours(answer, "GET")
    assert (read.status, read.fields, read.body) == (
        200,
        [("X-Long", "one two"), ("Content-Length", "2")],
        b"ok",
    )


def test_transfer_encoding_overrides_content_length_and_closes_after() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    )
    read = ours(answer, "GET")
    assert read.body == b"ok" and not read.keep_alive


@pytest.mark.parametrize(
    ("method", "target", "fields"),
    [
        ("GET", "/v2/\r\nX: y", {}),
        ("GET", "/v2/ x", {}),
        ("GE T", "/v2/", {}),
        ("GET", "/v2/", {"X": "a\r\nInjected: 1"}),
        ("GET", "/v2/", {"Bad Name": "a"}),
    ],
)
def test_a_request_that_would_break_its_message_is_not_sent(
    method: str, target: str, fields: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="invalid"):
        request_head(method, target, "h", fields, None)


def test_request_head_frames_the_body_as_http_client_does() -> None:
    assert request_head("PUT", "/x", "h:5000", {"A": "b"}, None) == (
        b"PUT /x HTTP/1.1\r\nHost: h:5000\r\nAccept-Encoding: identity\r\nA: b\r\nContent-Length: 0\r\n\r\n"
    )
    assert b"Content-Length: 3\r\n" in request_head("POST", "/x", "h", {}, b"abc")
    assert b"Content-Length" not in request_head("GET", "/x", "h", {}, None)


@settings(max_examples=500)
@given(
    st.one_of(
        st.binary(max_size=400),
        answers().flatmap(lambda a: st.integers(0, len(a.whole)).map(lambda n: a.whole[:n] + b"\0\xff\r\n")),
    ),
    st.sampled_from(["GET", "HEAD"]),
)
def test_any_bytes_are_read_or_refused_with_a_protocol_error(answer: bytes, method: str) -> None:
    """A hostile server's bytes end in an answer or a ProtocolError: never another exception,
    never a loop (the reader always consumes or ends)."""
    with contextlib.suppress(ProtocolError):
        ours(answer, method)
