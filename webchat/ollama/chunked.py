"""Ollama's streamed NDJSON read in batches: everything already received, at once.

Ollama sends each token as its own HTTP chunk. Read through urllib3, every token costs
a wake-up of the reading thread, several buffered reads and six generator layers; with
a hundred streams at a model's pace that per-token work, and the GIL hand-offs each
wake-up brings, dominated the app's CPU time. Here one `read1` takes whatever the kernel
holds (one system call), the chunk framing is decoded in place, and the complete lines
come back together, so a reader that paused for a moment (the relay's frame budget,
relay/reply.py) picks up every token that arrived meanwhile in one go.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any, Protocol

READ_SIZE = 65536  # bytes asked of the socket per read: far more than a pause collects


class BrokenFraming(ValueError):
    """The chunked framing is not what HTTP/1.1 says (a size that is not hex...)."""


class _Readable(Protocol):
    def read1(self, size: int = ...) -> bytes: ...


class ChunkedLines:
    """Decodes a chunked HTTP body from the connection's buffered reader into lines."""

    def __init__(self, fp: _Readable, sock: Any = None) -> None:
        self._fp = fp
        self._sock = sock  # the socket under `fp`: read directly once fp holds nothing
        self._raw = b""  # received, not yet decoded
        self._body = b""  # decoded, not yet a whole line
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = False  # the CRLF after a chunk's data is still to come
        self.ended = False  # the last (zero) chunk was seen
        self._direct = False  # fp is empty: the socket is read directly
        self._unpolled = False  # reads never wait: see `never_wait`
        self._fd = -1

    def never_wait(self) -> bool:
        """From now on read with one plain read(2) that never waits: a read when nothing
        has arrived yields an empty batch. For the relay pump, which reads when epoll
        says so or tries once when a stream's rest ends: a read that finds nothing yields
        None. (A socket with a timeout polls before each recv: a system call a read
        saved.) False, and nothing changes, when that cannot be done."""
        if not self._direct or self._sock.gettimeout() is None:
            return False  # fp may hold bytes, or a blocking socket: read(2) could wait
        self._fd = self._sock.fileno()
        self._unpolled = True
        return True

    def batches(self) -> Iterator[list[bytes] | None]:
        """One read each: the whole lines it completed (maybe none, so a caller that
        reads only when the socket is readable never blocks here). The last batch
        carries a final line without its newline, if any. A connection that closes
        before the last chunk (Ollama died, or a cancel shut the socket down) raises
        ConnectionResetError after the whole lines it did send."""
        read = self._fp.read1
        while not self.ended:
            if self._unpolled:
                try:
                    data = os.read(self._fd, READ_SIZE)
                except BlockingIOError:
                    yield None  # nothing yet: the caller waits for the socket
                    continue
            else:
                data = read(READ_SIZE)
            if len(data) < READ_SIZE and self._sock is not None:
                # read1 returns what fp had buffered, all of it when that is less than
                # asked, or else reads the socket once without buffering: either way fp
                # is empty now and stays so, and the socket's own recv skips two
                # layers of Python per read (SocketIO, BufferedReader).
                read = self._sock.recv
                self._direct = True
            if not data:
                raise ConnectionResetError("the connection closed before the body ended")
            self._decode(data)
            lines: list[bytes] = []
            if b"\n" in self._body:
                *lines, self._body = self._body.split(b"\n")
            yield lines
        if self._body.strip():
            yield [self._body]
            self._body = b""

    def _decode(self, data: bytes) -> None:
        raw = self._raw + data if self._raw else data
        pos, end = 0, len(raw)
        parts: list[bytes] = []
        while pos < end:
            if self._left:
                piece = raw[pos:pos + self._left]
                parts.append(piece)
                pos += len(piece)
                self._left -= len(piece)
                if self._left:
                    break
                self._crlf = True
            if self._crlf:
                if end - pos < 2:
                    break
                pos += 2
                self._crlf = False
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > 64:
                    raise BrokenFraming("a chunk size line longer than 64 bytes")
                break
            try:
                size = int(raw[pos:eol].split(b";", 1)[0], 16)
            except ValueError:
                raise BrokenFraming(f"a chunk size that is not hex: {raw[pos:eol][:20]!r}") \
                    from None
            pos = eol + 2
            if size == 0:
                self.ended = True
                break
            self._left = size
        self._raw = raw[pos:]
        if parts:
            self._body += b"".join(parts)


def body_reader(response: Any) -> ChunkedLines | None:
    """The batch reader for a requests/urllib3 streamed response, or None when it is not
    a plain chunked body read from a socket (then the caller reads it line by line).

    The one reach into private attributes on Ollama's side of the relay, checked against
    requests 2.34.2, urllib3 2.7.0 and CPython 3.11: urllib3's `HTTPResponse._fp` (the
    http.client response), its `fp` (a BufferedReader) and that reader's `raw._sock`
    (socket.SocketIO's socket). Should they move, this gives None and every reply is
    read the slow way: tests/test_library_reaches.py fails then."""
    raw = getattr(response, "raw", None)
    http_response = getattr(raw, "_fp", None)
    fp = getattr(http_response, "fp", None)
    if (not getattr(http_response, "chunked", False) or fp is None
            or not hasattr(fp, "read1") or response.headers.get("Content-Encoding")):
        return None
    raw_io = getattr(fp, "raw", None)
    if isinstance(getattr(raw_io, "_sock", None), ssl.SSLSocket):
        return None  # TLS buffers records of its own: read the usual way
    return ChunkedLines(fp, getattr(raw_io, "_sock", None))
