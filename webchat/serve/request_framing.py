"""Where an HTTP/1.1 request ends, read from its bytes as they arrive (no thread, no I/O).

The --production worker (slow_clients.py) collects each request whole in its event loop
before a thread sees it, so a client that trickles its header or its body holds no
thread. That needs only this much of HTTP: where the header ends, how the body is framed
(Content-Length, or chunked), and when a chunked body's last chunk has come. Anything
ambiguous or malformed is left to gunicorn's own parser, which refuses it at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def header_end(data: bytes | bytearray) -> int:
    """The offset just past the blank line that ends the header, or -1."""
    found = _HEADER_END.search(data)
    return found.end() if found else -1


@dataclass(frozen=True)
class Framing:
    """How the body after a header is framed: `length` bytes, or `chunked`; `refused`
    when gunicorn will refuse the header anyway (it is handed over at once)."""

    length: int = 0
    chunked: bool = False
    refused: bool = False
    path: str = "/"
    expects_continue: bool = False  # Expect: 100-continue (HTTP/1.1)


def framing(head: bytes) -> Framing:
    """Read the request line and the framing headers of a complete header."""
    lines = head.decode("latin-1").split("\n")
    request_line = lines[0].strip().split(" ")
    if len(request_line) != 3:
        return Framing(refused=True)
    path = request_line[1].split("?", 1)[0]
    lengths: list[str] = []
    codings: list[str] = []
    expects = False
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            lengths.append(value)
        elif name == "transfer-encoding":
            codings += [c.strip().lower() for c in value.split(",")]
        elif name == "expect" and value.lower() == "100-continue":
            expects = request_line[2].strip() == "HTTP/1.1"
    if codings:
        if lengths or codings[-1] != "chunked":
            return Framing(refused=True, path=path)
        return Framing(chunked=True, path=path, expects_continue=expects)
    if not lengths:
        return Framing(path=path)
    if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
        return Framing(refused=True, path=path)
    return Framing(length=int(lengths[0]), path=path, expects_continue=expects)


def without_expect(head: bytes) -> bytes:
    """The header with its `Expect` line taken out (the 100 Continue has been sent)."""
    lines = head.split(b"\n")
    kept = [line for line in lines if not line.lower().startswith(b"expect:")]
    return b"\n".join(kept)


class ChunkedEnd:
    """Follows a chunked body as its bytes arrive: `feed` says where the body ended
    (the offset in the bytes fed so far), -1 while it goes on, or raises ValueError for
    framing gunicorn would refuse (then the request is handed over as it is)."""

    def __init__(self) -> None:
        self._line = bytearray()  # a size or trailer line being read
        self._left = 0  # bytes of chunk data (and its CRLF) still to come
        self._trailers = False  # past the last chunk: reading trailer lines
        self._offset = 0  # bytes fed so far

    def feed(self, data: bytes | bytearray) -> int:
        view = memoryview(data)
        at = 0
        while at < len(view):
            if self._left:
                step = min(self._left, len(view) - at)
                self._left -= step
                at += step
                continue
            newline = bytes(view[at:]).find(b"\n")
            if newline < 0:
                self._line += view[at:]
                if len(self._line) > 4096:
                    raise ValueError("chunk line too long")
                at = len(view)
                break
            self._line += view[at:at + newline]
            at += newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line = bytearray()
            if self._trailers:
                if not line:
                    end = self._offset + at
                    self._offset += len(view)
                    return end
                continue
            size = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size):
                raise ValueError("bad chunk size")
            count = int(size, 16)
            if count == 0:
                self._trailers = True
            else:
                self._left = count + 2  # the data, then its CRLF
        self._offset += len(view)
        return -1
