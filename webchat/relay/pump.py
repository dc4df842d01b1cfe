"""One thread that relays every streaming reply once its first chunk is out.

With a thread per reply, every token woke its thread, and each wake-up meant taking the
GIL from one of a hundred others: measured with 128 streams, most of the app's CPU went
to the kernel switching threads and waiting on the GIL's futex, not to Python. Here the
reply's own thread sends the first chunk at once (it also waits for the model to load),
then hands its stream to this pump. The pump waits on all the streams' sockets with one
epoll and, each time it wakes, reads every stream that has something and relays it as
one frame. After a frame a stream rests for the frame budget (its socket is left out of
the epoll), so what arrives meanwhile goes out together with the next frame, at most
FRAME_BUDGET late. When the stream ends, or fails, the reply's thread is told and does
the rest (saving, the `done` or `error` frame) as before.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

FRAME_BUDGET = 0.025  # seconds: what arrives within this of a frame goes with the next
BURST_EVENTS = 32  # a batch this big is a burst (the relay is behind): read on at once
IDLE_EXIT = 5.0  # seconds with no stream before the pump's thread ends
SILENCE_CHECK = 0.5  # seconds between looks for streams silent past their timeout
# A stream's socket is watched for one event at a time: the kernel takes it out of the
# epoll when it reports it (one system call a frame fewer than taking it out by hand).
_ARMED = select.EPOLLIN | select.EPOLLONESHOT


class _Stream:
    def __init__(self, fd: int, batches: Iterator[Any], deliver: Callable[[Any], bool],
                 finished: Callable[[BaseException | None], None], timeout: float,
                 silent: Callable[[], BaseException], eager: bool = False) -> None:
        self.fd = fd
        self.eager = eager  # its reads never wait: read at once when its rest ends
        self.batches = batches
        self.timeout = timeout  # seconds the stream may send nothing before it is dropped
        self.silent = silent  # the error for a stream silent that long
        self.heard = time.monotonic()
        self.deliver = deliver  # relays a batch; True when a frame went out
        self.finished = finished  # called once: None at the end, else what went wrong


class Pump:
    """Relays the streams handed to it; its thread runs while there are any."""

    def __init__(self, budget: float, burst: int = 32) -> None:
        self.budget = budget
        self.burst = burst  # a batch this big: the stream is ahead of us, read on at once
        self._lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        # (due, fd, stream) in order of due: every rest is the same budget from now
        self._resting: deque[tuple[float, int, _Stream]] = deque()
        self._new: list[_Stream] = []
        self._epoll: Any = None
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None

    @staticmethod
    def available() -> bool:
        return hasattr(select, "epoll")

    def follow(self, fd: int, batches: Iterator[Any], deliver: Callable[[Any], bool],
               finished: Callable[[BaseException | None], None], timeout: float,
               silent: Callable[[], BaseException], eager: bool = False) -> None:
        """Relay the rest of a stream whose first frame just went out: it rests for the
        budget, then every batch that arrives is delivered from the pump's thread. A
        stream that sends nothing for `timeout` seconds ends with `silent()`. `eager`:
        the stream's reads never wait (a read with nothing there gives a batch marked
        `nothing`), so when its rest ends it is read at once, without asking epoll
        first: at a model's pace the next token is usually there by then."""
        stream = _Stream(fd, batches, deliver, finished, timeout, silent, eager)
        with self._lock:
            if self._thread is None:
                self._epoll = select.epoll()
                self._wake_r, self._wake_w = os.pipe()
                self._epoll.register(self._wake_r, select.EPOLLIN)
                self._thread = threading.Thread(target=self._run, name="relay-pump",
                                                daemon=True)
                self._thread.start()
            self._new.append(stream)
        os.write(self._wake_w, b"x")

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug here must not leave replies waiting forever
            log.exception("the relay pump stopped")
            with self._lock:
                streams = list(self._streams.values()) + self._new
                self._streams.clear()
                self._new = []
                self._resting = deque()
                self._thread = None
            for stream in streams:
                try:
                    stream.finished(exc)
                except Exception:
                    pass

    def _loop(self) -> None:
        epoll = self._epoll
        resting = self._resting
        idle_since = time.monotonic()
        next_check = idle_since + SILENCE_CHECK
        while True:
            with self._lock:
                new, self._new = self._new, []
                if not new and not self._streams and time.monotonic() - idle_since > IDLE_EXIT:
                    self._thread = None
                    epoll.close()
                    os.close(self._wake_r)
                    os.close(self._wake_w)
                    return
            now = time.monotonic()
            for stream in new:
                self._streams[stream.fd] = stream
                try:
                    epoll.register(stream.fd, 0)  # resting: the first frame just went out
                except OSError as exc:  # the socket closed already: the reader will say
                    self._step_or_finish(stream, exc)
                    continue
                resting.append((now + self.budget, stream.fd, stream))
            while resting and resting[0][0] <= now:
                _, fd, stream = resting.popleft()
                if self._streams.get(fd) is stream:
                    if stream.eager:
                        self._step_or_finish(stream)
                        continue
                    try:
                        epoll.modify(fd, _ARMED)
                    except OSError as exc:
                        self._end(stream, exc)
            timeout = (resting[0][0] - now) if resting else 1.0
            for fd, _ in epoll.poll(max(0.0, timeout)):
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                stream = self._streams.get(fd)
                if stream is not None:
                    self._step_or_finish(stream)
            if self._streams:
                idle_since = time.monotonic()
            if idle_since >= next_check:
                next_check = idle_since + SILENCE_CHECK
                self._drop_silent(idle_since)

    def _drop_silent(self, now: float) -> None:
        """End the streams that sent nothing for their timeout (a stalled Ollama): the
        reply's thread, told so, closes its stream (it owns it)."""
        for stream in [s for s in self._streams.values() if now - s.heard > s.timeout]:
            self._end(stream, stream.silent())

    def _step_or_finish(self, stream: _Stream, error: BaseException | None = None) -> None:
        """Read what this stream has and relay it; rest it after a frame."""
        if error is not None:
            self._end(stream, error)
            return
        try:
            batch = next(stream.batches)
        except StopIteration:
            self._end(stream, None)
            return
        except BaseException as exc:  # the reader's own errors: the reply's thread sorts
            self._end(stream, exc)
            return
        if getattr(batch, "nothing", False):  # an eager read came too soon: wait for the socket
            try:
                self._epoll.modify(stream.fd, _ARMED)
            except OSError as exc:
                self._end(stream, exc)
            return
        stream.heard = time.monotonic()
        try:
            sent = stream.deliver(batch)
        except BaseException as exc:
            self._end(stream, exc)
            return
        if getattr(batch, "final", False):
            # The body has ended (with its `done` line, or without): ask once more so
            # the reader closes its response, or says what was missing, rather than
            # wait for bytes that will not come.
            try:
                next(stream.batches, None)
            except BaseException as exc:
                self._end(stream, exc)
                return
            self._end(stream, None)
            return
        # The event took the socket out of the epoll (one-shot): it rests there for the
        # budget after a frame, or is watched again at once (nothing relayed, a burst).
        if sent and len(batch) < self.burst:
            self._resting.append((time.monotonic() + self.budget, stream.fd, stream))
            return
        try:
            self._epoll.modify(stream.fd, _ARMED)
        except OSError:
            return  # closed meanwhile: its end comes through the reader

    def _end(self, stream: _Stream, error: BaseException | None) -> None:
        if self._streams.get(stream.fd) is stream:
            del self._streams[stream.fd]
            try:
                self._epoll.unregister(stream.fd)
            except (OSError, ValueError):
                pass  # closed with its response: epoll forgot it already
        try:
            stream.finished(error)
        except Exception:
            log.exception("a relayed reply could not be finished")
