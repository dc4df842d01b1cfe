"""A gunicorn `gthread` worker that slow clients cannot starve.

Stock gthread hands a connection to a pool thread as soon as its first bytes arrive; the
thread then blocks reading the rest of the header. A few hundred clients that send half
a header and trickle a line every few seconds hold every thread, and every other
request waits. Here the worker's event loop itself collects each request header
(non-blocking, in the one main thread), and only a complete header reaches a thread:
  - a header not complete within `header_timeout` seconds closes the connection;
  - a header larger than `max_header_bytes` is handed on, for gunicorn to refuse;
  - one peer address may hold at most `per_peer` connections (0 = no cap; loopback is
    exempt unless `limit_loopback`, since a reverse proxy on this machine is one peer).
Kept-alive connections go through the same path for their next request.
"""

from __future__ import annotations

import ipaddress
import selectors
import time
from collections import defaultdict
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_SIZE = 65536


def _is_loopback(address: Any) -> bool:
    try:
        host = address[0] if isinstance(address, tuple) else str(address)
        return ipaddress.ip_address(host).is_loopback
    except (ValueError, IndexError, TypeError):
        return True  # a Unix socket: only this machine can use it


class GuardedConn(TConn):
    """A connection that tells its worker when it closes, for the per-peer count."""

    def __init__(self, worker: GuardedWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.head = bytearray()
        self.head_deadline = 0.0
        self.counted = False

    def close(self, graceful: bool = False) -> None:
        self.worker.forget(self)
        super().close(graceful)


class GuardedWorker(ThreadWorker):
    header_timeout = 10.0
    max_header_bytes = 64 * 1024
    per_peer = 0
    limit_loopback = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_address: dict[str, int] = defaultdict(int)
        self.reading: dict[GuardedConn, None] = {}  # insertion order = deadline order

    def _peer(self, conn: GuardedConn) -> str:
        client = conn.client
        return str(client[0]) if isinstance(client, tuple) else str(client)

    def forget(self, conn: GuardedConn) -> None:
        if conn.counted:
            conn.counted = False
            peer = self._peer(conn)
            self.per_address[peer] -= 1
            if self.per_address[peer] <= 0:
                del self.per_address[peer]

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError:
            return  # EAGAIN and friends: another wake-up will come
        conn = GuardedConn(self, self.cfg, client_sock, client_addr, listener.getsockname())
        self.nr_conns += 1
        peer = self._peer(conn)
        capped = self.per_peer > 0 and (self.limit_loopback or not _is_loopback(client_addr))
        if capped and self.per_address[peer] >= self.per_peer:
            self.nr_conns -= 1
            conn.close()  # too many from one address: refuse at once, no thread spent
            return
        self.per_address[peer] += 1
        conn.counted = True
        self._read_header(conn)

    def _read_header(self, conn: GuardedConn) -> None:
        """Wait, without a thread, for this connection's next request header."""
        conn.sock.setblocking(False)
        conn.head = bytearray()
        conn.head_deadline = time.monotonic() + self.header_timeout
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._header_bytes, conn))

    def _header_bytes(self, conn: GuardedConn, client: Any) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.head += data
        if b"\r\n\r\n" not in conn.head and b"\n\n" not in conn.head \
                and len(conn.head) <= self.max_header_bytes:
            return
        self.poller.unregister(conn.sock)
        self.reading.pop(conn, None)
        conn.sock.setblocking(True)
        if not conn.initialized:
            conn.init()
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = bytearray()
        conn.data_ready = True
        self.enqueue_req(conn)

    def _drop(self, conn: GuardedConn) -> None:
        self.reading.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection's next request: its header is collected here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_header(conn)

    def _cap_keepalive(self, deadline: float) -> None:
        """Stopping: a connection still sending its header gets no longer than a kept-alive
        one (deadlines stay in order, since all are capped alike)."""
        super()._cap_keepalive(deadline)
        for conn in self.reading:
            conn.head_deadline = min(conn.head_deadline, deadline)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in list(self.reading):
            if conn.head_deadline > now:
                break
            self._drop(conn)


def configure(header_timeout: float, per_peer: int, limit_loopback: bool) -> str:
    """Set the limits (in the master, before the fork) and name the worker class."""
    GuardedWorker.header_timeout = header_timeout
    GuardedWorker.per_peer = per_peer
    GuardedWorker.limit_loopback = limit_loopback
    return f"{__name__}.GuardedWorker"

