"""What a browser's WebSocket needs from TCP: small frames sent at once, and how much
of what was sent the browser has not taken yet.

Apart from the frame handling because it is about the kernel, not the protocol: what the
kernel still holds for a browser counts toward the MAX_UNSENT bytes it may leave unread
before it is dropped (a laptop asleep with the socket still open); what the kernel would
not take waits in the socket's outbox (outbox.py), so no write ever waits on a browser.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

MAX_UNSENT = 256 * 1024  # bytes a browser may leave unread before frames stop going to it
UNSENT_SLACK = 4096  # bytes of control frames (pongs) simple-websocket may write unseen


try:  # Unix: the kernel says how much of what was sent is still queued
    import fcntl
    import termios
except ImportError:  # elsewhere the limit is not checked
    fcntl = termios = None  # type: ignore[assignment]


def unsent(ws: Any) -> int:
    """Bytes sent to this socket that the browser has not taken yet (TIOCOUTQ)."""
    if fcntl is None:
        return 0
    try:
        return struct.unpack("i", fcntl.ioctl(ws.sock.fileno(), termios.TIOCOUTQ,
                                              b"\0\0\0\0"))[0]
    except (AttributeError, OSError, ValueError):
        return 0  # not a socket the kernel can say this about: send as ever


def no_delay(ws: Any) -> None:
    """Send each small frame at once. Without TCP_NODELAY the kernel holds the first
    chunk after `start` until the browser acknowledges `start`: about 40 ms (Nagle and
    delayed ACK), measured by bench/relay.py."""
    try:
        ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass  # not a TCP socket (e.g. a test double)
