"""A WebSocket client that stops reading: a tiny receive window, as any client may set,
for the tests that prove one slow reader never stalls anyone else's reply."""

from __future__ import annotations

import contextlib
import json
import socket
import time

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

# 600 KB, as fast as the stand-in can: more than the kernel's buffers (~150 KB on
# loopback) and the 256 KB a reader may leave unread, so it is dropped near the end.
LONG_FAST_REPLY = [" " + "y" * 199] * 3000


def slow_reader(port: int, cookie: str) -> tuple[socket.socket, WSConnection]:
    """A WebSocket client with a tiny receive window (SO_RCVBUF 4096 and an MSS of 536,
    as any client may set) that does its handshake and then reads only when told to."""
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    conn.settimeout(10)
    conn.connect(("127.0.0.1", port))
    ws = WSConnection(ConnectionType.CLIENT)
    conn.sendall(ws.send(Request(host=f"127.0.0.1:{port}", target="/ws",
                                 extra_headers=[(b"Cookie", cookie.encode())])))
    while not any(isinstance(event, AcceptConnection) for event in ws.events()):
        data = conn.recv(4096)
        assert data, "the server refused the socket"
        ws.receive_data(data)
    return conn, ws


def send_frame(conn: socket.socket, ws: WSConnection, frame: dict) -> None:
    conn.sendall(ws.send(TextMessage(data=json.dumps(frame))))


def close_after_reading(conn: socket.socket, ws: WSConnection,
                        timeout: float = 20.0) -> tuple[CloseConnection | None, list[str]]:
    """Read everything the server sent, up to its close frame (None: none came), and
    the types of the frames that came before it."""
    deadline = time.monotonic() + timeout
    types: list[str] = []
    with contextlib.suppress(OSError):
        while (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            data = conn.recv(1 << 16)
            if not data:
                return None, types
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, CloseConnection):
                    return event, types
                if isinstance(event, TextMessage) and event.message_finished:
                    with contextlib.suppress(ValueError):
                        types.append(json.loads(event.data)["type"])
    return None, types
