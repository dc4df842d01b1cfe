"""A gunicorn `gthread` worker that slow clients cannot starve.

Stock gthread hands a connection to a pool thread as soon as its first bytes arrive; the
thread then blocks reading the rest of the request. A few hundred clients that send half
a header, or a whole header and then trickle the body, hold every thread, and every
other request waits (issue 18: 320 body tricklers timed a page load out for minutes).
Here the worker's event loop itself collects each request whole (non-blocking, in the
one main thread, request_framing.py says where it ends), and only a complete request
reaches a thread:
  - a header not complete within `header_timeout` seconds closes the connection, and a
    body not complete within `body_timeout` seconds of its header does too;
  - a header larger than `max_header_bytes` is handed on, for gunicorn to refuse; so is
    a body declared larger than its route takes (the app answers 413 at once), and a
    chunked one once it has passed that (the app reads past its cap from what is
    collected, and answers 413 without waiting on the client);
  - bodies past IN_MEMORY bytes wait in a temporary file, not in memory;
  - one peer address may hold at most `per_peer` connections, in any phase (0 = no cap;
    loopback is exempt unless `limit_loopback`, since a reverse proxy on this machine is
    one peer).
Kept-alive connections go through the same path for their next request, and so do bytes
a body read took ahead. Two more things stock gthread does on its one event-loop thread
wait on the client, and here do not:
  - closing: gunicorn's graceful close waits up to 2 s per connection for the client to
    hang up (30 clients that stay open froze it for a minute); here the write side is
    shut at once and what the client still sends is drained by the loop, for at most
    LINGER seconds;
  - a full worker: at `worker_connections` it stops accepting, and 1,000 idle kept-alive
    connections locked every new client out; here the oldest idle one is closed to make
    room, so idle connections go before a new request is refused.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import tempfile
import time
from collections import defaultdict
from functools import partial
from typing import IO, Any

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from .request_framing import ChunkedEnd, framing, header_end, without_expect

READ_SIZE = 65536
IN_MEMORY = 1024 * 1024  # bytes of a body kept in memory; the rest waits in a file
LINGER = 2.0  # seconds a closed connection's last bytes from the client are drained
LINGER_BYTES = 65536  # and at most this many
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _is_loopback(address: Any) -> bool:
    try:
        host = address[0] if isinstance(address, tuple) else str(address)
        return ipaddress.ip_address(host).is_loopback
    except (ValueError, IndexError, TypeError):
        return True  # a Unix socket: only this machine can use it


class CollectedUnreader(SocketUnreader):
    """gunicorn's socket reader, giving first a body the event loop put in a file."""

    def __init__(self, sock: Any, spool: IO[bytes]) -> None:
        super().__init__(sock)
        self.spool: IO[bytes] | None = spool

    def chunk(self, size_hint: int | None = None) -> bytes:
        if self.spool is not None:
            data = self.spool.read(min(max(size_hint or 0, READ_SIZE), self.max_body_chunk))
            if data:
                return data
            self.spool.close()
            self.spool = None
        return super().chunk(size_hint)


class GuardedConn(TConn):
    """A connection that tells its worker when it closes, and closes without waiting."""

    def __init__(self, worker: GuardedWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.head = bytearray()  # the request so far: its header, then its body
        self.deadline = 0.0  # when collecting it gives up
        self.body_at = -1  # where the body starts in `head` (-1: still in the header)
        self.body_left = 0  # declared bytes of body still to come
        self.chunks: ChunkedEnd | None = None  # a chunked body: where it ends
        self.body_cap = 0  # a chunked body past this is handed on (the route's limit)
        self.body_seen = 0  # bytes of body collected
        self.spool: IO[bytes] | None = None  # a body past IN_MEMORY
        self.collected = False  # the whole request is in hand: a thread may take it
        self.counted = False

    def close(self, graceful: bool = False) -> None:
        self.worker.forget(self)
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        if graceful:
            self.worker.linger(self.sock)
        else:
            try:
                self.sock.close()
            except OSError:
                pass


class GuardedWorker(ThreadWorker):
    header_timeout = 10.0
    body_timeout = 60.0
    max_header_bytes = 64 * 1024
    body_limits: dict[str, int] = {"": 0}  # bytes of body per route ("": the others)
    per_peer = 0
    limit_loopback = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_address: dict[str, int] = defaultdict(int)
        # Insertion order = deadline order in each (each has one timeout for all).
        self.heads: dict[GuardedConn, None] = {}
        self.bodies: dict[GuardedConn, None] = {}
        self.lingering: dict[socket.socket, float] = {}

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
        self._collect(conn)

    # -- collecting a request ----------------------------------------------------------

    def enqueue_req(self, conn: Any) -> None:
        """Only a whole request goes to a thread; anything else (read-ahead a body read
        left behind, say) is collected first."""
        if getattr(conn, "collected", True):
            conn.collected = False
            super().enqueue_req(conn)
            return
        self._collect(conn, conn.parser.unreader.take_buffered() if conn.parser else b"")

    def _collect(self, conn: GuardedConn, start: bytes = b"") -> None:
        """Wait, without a thread, for this connection's next request."""
        conn.sock.setblocking(False)
        conn.head = bytearray(start)
        conn.body_at = -1
        conn.deadline = time.monotonic() + self.header_timeout
        self.heads[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._bytes, conn))
        if start:
            self._advance(conn, bytes(start))

    def _bytes(self, conn: GuardedConn, client: Any) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        if conn.body_at < 0:
            conn.head += data
        self._advance(conn, data)

    def _advance(self, conn: GuardedConn, data: bytes) -> None:
        """Take in what arrived; hand the request on once it is whole."""
        if conn.body_at < 0:
            end = header_end(conn.head)
            if end < 0:
                if len(conn.head) > self.max_header_bytes:
                    self._hand_on(conn)  # for gunicorn to refuse
                return
            self._start_body(conn, end)
            if conn.body_at < 0:
                return  # handed on (no body to wait for) or dropped
            data = bytes(conn.head[conn.body_at:])  # body bytes that came with it
            del conn.head[conn.body_at:]
        self._body_bytes(conn, data)

    def _start_body(self, conn: GuardedConn, end: int) -> None:
        """The header is in: how much body follows, and how long it may take."""
        head = bytes(conn.head[:end])
        frame = framing(head)
        limit = self.body_limits.get(frame.path, self.body_limits[""])
        if frame.refused or (not frame.chunked and frame.length == 0) \
                or frame.length > limit:
            self._hand_on(conn)  # no body, or one the app refuses without reading it
            return
        if frame.expects_continue:  # the client waits for this before its body
            try:
                sent = conn.sock.send(CONTINUE)
            except OSError:
                sent = 0
            if sent != len(CONTINUE):
                self._drop(conn)
                return
            rest = bytes(conn.head[end:])
            head = without_expect(head)
            conn.head = bytearray(head + rest)
            end = len(head)
        conn.body_at = end
        conn.body_left = frame.length
        conn.chunks = ChunkedEnd() if frame.chunked else None
        conn.body_cap = limit
        conn.body_seen = 0
        self.heads.pop(conn, None)
        conn.deadline = time.monotonic() + self.body_timeout
        self.bodies[conn] = None

    def _body_bytes(self, conn: GuardedConn, data: bytes) -> None:
        if not data:
            return
        if conn.chunks is not None:
            try:
                end = conn.chunks.feed(data)
            except ValueError:
                end = 0  # framing gunicorn refuses: hand it on as it is
            whole = end >= 0 or conn.body_seen + len(data) > conn.body_cap
        else:
            whole = len(data) >= conn.body_left
            conn.body_left -= len(data)
        conn.body_seen += len(data)
        if conn.spool is not None:
            conn.spool.write(data)
        else:
            conn.head += data
            if len(conn.head) - conn.body_at > IN_MEMORY:
                conn.spool = tempfile.TemporaryFile()
                conn.spool.write(conn.head)
                conn.head = bytearray()
        if whole:
            self._hand_on(conn)

    def _hand_on(self, conn: GuardedConn) -> None:
        """The request is whole (or will be refused): a thread reads it from memory."""
        self.poller.unregister(conn.sock)
        self.heads.pop(conn, None)
        self.bodies.pop(conn, None)
        conn.sock.setblocking(True)
        if not conn.initialized:
            conn.init()
        if conn.spool is not None:
            conn.spool.seek(0)
            conn.parser.unreader = CollectedUnreader(conn.sock, conn.spool)
            conn.spool = None  # the reader closes it
        else:
            conn.parser.unreader.unread(bytes(conn.head))
        conn.head = bytearray()
        conn.data_ready = True
        conn.collected = True
        self.enqueue_req(conn)

    def _drop(self, conn: GuardedConn) -> None:
        self.heads.pop(conn, None)
        self.bodies.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection's next request: collected here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._collect(conn)

    # -- closing without waiting -------------------------------------------------------

    def linger(self, sock: socket.socket) -> None:
        """Close as RFC 9112 asks (our side first, then what the client still sends is
        read, so the kernel does not reset the connection under our last response),
        without waiting: the loop drains it as it comes, for LINGER seconds at most.

        It drains a duplicate of the socket: a WebSocket's reader thread may still
        close the original, and a number the poller holds must not be reused meanwhile."""
        try:
            sock.shutdown(socket.SHUT_WR)
            own = sock.dup()
        except OSError:
            own = None
        try:
            sock.close()
        except OSError:
            pass
        if own is None:
            return
        try:
            own.setblocking(False)
            self.poller.register(own, selectors.EVENT_READ, self._drain)
        except (OSError, ValueError, KeyError):
            own.close()
            return
        self.lingering[own] = time.monotonic() + LINGER

    def _drain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if 0 < len(data) < LINGER_BYTES:
            return  # more may come: LINGER ends it
        self._end_linger(sock)  # the client hung up, failed, or sends far too much

    def _end_linger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            sock.close()
        except OSError:
            pass

    # -- deadlines -----------------------------------------------------------------------

    def murder_keepalived(self, force: bool = False) -> None:
        """Past their timeout kept-alive connections go; and at the connection limit
        the oldest goes at once, so a new client is accepted instead of refused."""
        super().murder_keepalived(force)
        while self.keepalived_conns and self.nr_conns >= self.worker_connections:
            conn = self.keepalived_conns.popleft()
            try:
                self.poller.unregister(conn.sock)
            except (OSError, KeyError, ValueError):
                pass
            self.nr_conns -= 1
            conn.close()

    def _cap_keepalive(self, deadline: float) -> None:
        """Stopping: a connection still sending its request gets no longer than a
        kept-alive one (deadlines stay in order, since all are capped alike)."""
        super()._cap_keepalive(deadline)
        for conn in (*self.heads, *self.bodies):
            conn.deadline = min(conn.deadline, deadline)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for waiting in (self.heads, self.bodies):
            for conn in list(waiting):
                if conn.deadline > now:
                    break
                self._drop(conn)
        for sock, until in list(self.lingering.items()):
            if until > now:
                break
            self._end_linger(sock)


def configure(header_timeout: float, body_timeout: float, per_peer: int,
              limit_loopback: bool, body_limits: dict[str, int]) -> str:
    """Set the limits (in the master, before the fork) and name the worker class."""
    GuardedWorker.header_timeout = header_timeout
    GuardedWorker.body_timeout = body_timeout
    GuardedWorker.per_peer = per_peer
    GuardedWorker.limit_loopback = limit_loopback
    GuardedWorker.body_limits = dict(body_limits)  # the app's BODY_LIMITS (guard/bodies.py)
    return f"{__name__}.GuardedWorker"
