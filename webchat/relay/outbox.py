"""Writes to a browser's socket that never wait: a bounded queue per socket, one flusher.

Every stream's frames go out from the relay pump's one thread (relay/pump.py). A
blocking write to a browser that stopped reading made that thread wait, and every other
stream with it: a client that sets SO_RCVBUF 4096 and an MSS of 536 fills the kernel's
buffers long before 256 KB are unsent, and then `sendall` waited 75 s under
--production and 55 s on the development server (issue 18). The development server's
sockets carry a timeout, and Python waits for room before any send on such a socket,
MSG_DONTWAIT or not; so every write here goes through a duplicate of the socket's
descriptor that has no timeout: `send(MSG_DONTWAIT)` on it returns at once, and its
number stays ours (not reused by another connection) until this outbox closes it.

What the kernel does not take waits in the outbox, and one thread (`_Flusher`, one
epoll for every socket with bytes waiting) writes it out as the socket takes more. A
browser that leaves more than `limit` bytes queued behind the frame being written is
dropped, whatever TCP reports: the frames not begun are thrown away, a close frame
(1008 and the reason, which the page shows) follows the frame in progress, and once that
is out, or after `linger` seconds regardless, the socket is shut down; simple-websocket's
reader then sees the end and the connection closes as if the browser had left.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import threading
import time
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

MAX_QUEUED = 256 * 1024  # bytes a browser may leave queued behind the frame being written
DROP_LINGER = 30.0  # seconds a dropped browser has to take its close frame (its
# handler thread ends then: until it does the socket counts against its browser's caps,
# as it would have had it stayed open)
CLOSE_POLICY = 1008  # WebSocket close code: policy violation
DROP_REASON = "Too far behind: over 256 KB unread. Reconnecting reloads the chat."
_ARMED = select.EPOLLOUT | select.EPOLLONESHOT
_NOW = socket.MSG_DONTWAIT  # send what the kernel takes at once, never wait


def close_frame(code: int, reason: str) -> bytes:
    """A server's (unmasked) WebSocket close frame; the reason is cut to fit in 123 bytes."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes((0x88, len(payload))) + payload


class Outbox:
    """The bytes waiting for one browser's socket. `write` never waits; False once the
    browser is dropped or the socket closed (nothing more goes out then)."""

    def __init__(self, sock: socket.socket, limit: int = MAX_QUEUED,
                 linger: float = DROP_LINGER) -> None:
        self._sock = socket.socket(fileno=os.dup(sock.fileno()))  # no timeout: never waits
        self._send = self._sock.send
        self.fd = self._sock.fileno()
        self.limit = limit
        self.linger = linger
        self._lock = threading.Lock()
        self._queue: deque[bytes | memoryview] = deque()  # whole frames; the first may be cut
        self._queued = 0  # bytes in _queue
        self._started = False  # part of the first queued frame is out already
        self.dropped = False
        self.closed = False
        self.give_up_at = 0.0  # dropped: when the socket is shut down regardless

    @property
    def queued(self) -> int:
        return self._queued

    def write(self, data: bytes) -> bool:
        """Send `data` (one or more whole frames) now, or queue what the kernel leaves."""
        with self._lock:
            if self.dropped or self.closed:
                return False
            if self._queue:
                behind = self._queued - len(self._queue[0])
                if behind + len(data) > self.limit:
                    self._drop(DROP_REASON)
                    return False
                self._queue.append(data)
                self._queued += len(data)
                return True
            try:
                sent = self._send(data, _NOW)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close()  # the browser is gone: its reader will say so
                return False
            if sent < len(data):
                self._started = sent > 0
                self._queue.append(memoryview(data)[sent:] if sent else data)
                self._queued = len(data) - sent
                FLUSHER.arm(self)
            return True

    def drop(self, reason: str = DROP_REASON) -> None:
        """Drop this browser now (it fell behind by the kernel's own count)."""
        with self._lock:
            if not self.dropped and not self.closed:
                self._drop(reason)

    def _drop(self, reason: str) -> None:
        self.dropped = True
        head = self._queue[0] if self._queue and self._started else None
        self._queue = deque([head] if head is not None else [])
        self._queue.append(close_frame(CLOSE_POLICY, reason))
        self._queued = sum(len(part) for part in self._queue)
        self.give_up_at = time.monotonic() + self.linger
        log.warning("a browser fell behind by more than %d bytes and was dropped",
                    self.limit)
        FLUSHER.arm(self)

    def flush(self) -> None:
        """Write what the socket takes now (the flusher's thread, when it is writable)."""
        with self._lock:
            if self.closed:
                return
            while self._queue:
                head = self._queue[0]
                try:
                    sent = self._send(head, _NOW)
                except (BlockingIOError, InterruptedError):
                    FLUSHER.arm(self)
                    return
                except OSError:
                    self._close()
                    return
                self._queued -= sent
                if sent < len(head):
                    self._queue[0] = memoryview(head)[sent:]
                    self._started = True
                    FLUSHER.arm(self)
                    return
                self._queue.popleft()
                self._started = False
            if self.dropped:
                self._end()  # the close frame is out: the browser gets it when it reads
            else:
                FLUSHER.forget(self)  # all out: watched again when bytes wait again

    def give_up(self) -> None:
        """Dropped, and the close frame did not go out within `linger`: end it anyway."""
        with self._lock:
            if not self.closed:
                self._end()

    def _end(self) -> None:
        """Shut the connection down: simple-websocket's reader wakes to an end of stream,
        and the browser's handler thread finishes as if the browser had left."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued = 0
        FLUSHER.forget(self)
        try:
            self._sock.close()
        except OSError:
            pass


class QueuedSocket:
    """A browser's socket as simple-websocket and the frame writer see it: every write
    goes through its outbox (pongs and close frames too, so none lands inside a frame
    that is half out); everything else is the socket's own."""

    def __init__(self, sock: socket.socket, outbox: Outbox) -> None:
        self._sock = sock
        self.outbox = outbox

    def send(self, data: Any, flags: int = 0) -> int:
        if not self.outbox.write(bytes(data)) and self.outbox.closed \
                and not self.outbox.dropped:
            raise BrokenPipeError("the browser's socket is closed")
        return len(data)  # (a dropped browser's pongs are dropped with it)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.send(data, flags)

    def close(self) -> None:
        self.outbox.close()
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def queue_writes(ws: Any) -> Outbox | None:
    """Route every write to this simple-websocket connection through an outbox; None when
    it has no real socket (a test double), and writes go as before."""
    sock = getattr(ws, "sock", None)
    if isinstance(sock, QueuedSocket):
        return sock.outbox
    if not isinstance(sock, socket.socket) or not hasattr(select, "epoll"):
        return None
    try:
        outbox = Outbox(sock)
    except OSError:
        return None  # closed already
    ws.sock = QueuedSocket(sock, outbox)
    return outbox


class _Flusher:
    """One thread and one epoll for every socket that has bytes waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[int, Outbox] = {}
        self._epoll: Any = None
        self._wake_r = self._wake_w = -1

    def arm(self, box: Outbox) -> None:
        """Watch this box's socket until it can take more (called with the box's lock)."""
        with self._lock:
            if self._epoll is None:
                self._epoll = select.epoll()
                self._wake_r, self._wake_w = os.pipe()
                os.set_blocking(self._wake_w, False)
                self._epoll.register(self._wake_r, select.EPOLLIN)
                threading.Thread(target=self._run, name="browser-flusher", daemon=True).start()
            try:
                if self._boxes.get(box.fd) is box:
                    self._epoll.modify(box.fd, _ARMED)
                else:
                    self._boxes[box.fd] = box
                    self._epoll.register(box.fd, _ARMED)
            except OSError:
                return
            if box.dropped:
                try:
                    os.write(self._wake_w, b"x")  # its deadline counts from now
                except OSError:
                    pass

    def forget(self, box: Outbox) -> None:
        with self._lock:
            if self._boxes.get(box.fd) is box:
                del self._boxes[box.fd]
                try:
                    self._epoll.unregister(box.fd)
                except (OSError, ValueError):
                    pass

    def _run(self) -> None:
        while True:
            try:
                self._step()
            except Exception:  # a bug here must not stop every other browser's writes
                log.exception("the browser flusher hit an error")
                time.sleep(0.1)

    def _step(self) -> None:
        with self._lock:
            dropped = [box for box in self._boxes.values() if box.dropped]
        now = time.monotonic()
        for box in dropped:
            if box.give_up_at <= now:
                box.give_up()
        due = min((box.give_up_at for box in dropped if box.give_up_at > now), default=0.0)
        events = self._epoll.poll(due - now if due else 1.0)
        for fd, _ in events:
            if fd == self._wake_r:
                os.read(self._wake_r, 4096)
                continue
            with self._lock:
                box = self._boxes.get(fd)
            if box is not None:
                box.flush()


FLUSHER = _Flusher()
