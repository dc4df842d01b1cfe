"""Server-to-browser WebSocket text frames, written straight to the socket.

simple-websocket's `send` builds each frame through wsproto's pure-Python layers (an
event object, a frame protocol, a bytearray copy or two) and then calls `socket.send`
once, ignoring how many bytes it took. With a hundred streams that per-frame work was a
large part of the relay's cost (issue 10). A server's frame is unmasked, so it is a
two-to-ten-byte header and the payload: built here, and handed to the socket's outbox
(outbox.py: a write that never waits), or written with `sendall` without one. When the
browser negotiated permessage-deflate (Chromium and Firefox do), the payload goes
through wsproto's own extension object first, so its compressor keeps the one context
the browser expects, whichever path sent the previous frame.
"""

from __future__ import annotations

import struct
from typing import Any

from wsproto.connection import ConnectionState
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode, RsvBits

from .outbox import Outbox

_TEXT_FIN = 0x81  # FIN + text opcode
_RSV1 = 0x40  # set on a compressed message (permessage-deflate)
_NO_RSV = RsvBits(False, False, False)


class FrameWriter:
    """Writes whole text messages to one server-side simple-websocket connection. The
    caller serializes its calls (ChatConnection's send lock), as it did for `ws.send`."""

    def __init__(self, ws: Any, connection: Any, proto: Any, extensions: list[Any],
                 outbox: Outbox | None = None) -> None:
        self._ws = ws
        self._sock = ws.sock
        self._outbox = outbox
        self._connection = connection  # wsproto's Connection: its state says OPEN or not
        self._proto = proto  # wsproto's FrameProtocol: the deflate extension needs it
        self._deflate = extensions[0] if extensions else None

    @classmethod
    def for_socket(cls, ws: Any, outbox: Outbox | None = None) -> FrameWriter | None:
        """A writer for this socket, or None when it is not a server socket this module
        knows how to frame for (a test double, a client, an unknown extension): then
        `ws.send` is used as ever.

        The one reach into private attributes on the browser's side of the relay,
        checked against simple-websocket 1.1.0 and wsproto 1.3.2: simple-websocket's
        `ws` (its wsproto WSConnection) and `sock`, wsproto's `Connection._proto` (the
        FrameProtocol, which holds the negotiated extensions) and its `_outbound_opcode`
        (set while a fragmented message is half sent). Should they move, this gives None
        and frames go through `ws.send`: tests/test_library_reaches.py fails then."""
        try:
            connection = ws.ws.connection
            proto = connection._proto
            extensions = list(proto.extensions)
            if proto.client or ws.sock is None or proto._outbound_opcode is not None:
                return None
        except AttributeError:
            return None
        if len(extensions) > 1 or any(not isinstance(ext, PerMessageDeflate)
                                      for ext in extensions):
            return None
        return cls(ws, connection, proto, extensions, outbox)

    def frame(self, text: str) -> bytes:
        """The bytes of one complete text message carrying `text`."""
        payload = text.encode()
        first = _TEXT_FIN
        if self._deflate is not None:
            rsv, payload = self._deflate.frame_outbound(self._proto, Opcode.TEXT, _NO_RSV,
                                                        payload, True)
            if rsv[0]:
                first |= _RSV1
        size = len(payload)
        if size < 126:
            return bytes((first, size)) + payload
        if size < 65536:
            return struct.pack("!BBH", first, 126, size) + payload
        return struct.pack("!BBQ", first, 127, size) + payload

    def send(self, text: str) -> int:
        """Write one message; the bytes written (or queued), or -1 when the socket is
        closing or closed, or its browser was dropped for falling behind (nothing is
        written then). OSError when a write without an outbox fails.

        Through the socket object, not write(2) on its number: simple-websocket's reader
        thread may close the socket at any moment, and a number read before that could
        name another file by the time of the write."""
        if not self._ws.connected or self._connection.state is not ConnectionState.OPEN:
            return -1
        data = self.frame(text)
        if self._outbox is not None:
            return len(data) if self._outbox.write(data) else -1
        self._sock.sendall(data)
        return len(data)
