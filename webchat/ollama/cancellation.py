"""Stopping a streamed request to Ollama at once, from another thread.

Closing a `requests` response cannot interrupt a read that is blocked waiting for
Ollama, e.g. while a model loads and no response headers have come yet. So the
connections used here hand their socket to the thread's `Cancellation` before they wait,
and cancelling shuts that socket down under the blocked read — which is also what makes
Ollama stop generating.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Cancellation:
    """A switch another thread flips to abort one streamed request at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.cancelled = False
        self.reason = ""

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.cancelled:
                _shutdown(sock)

    @property
    def socket(self) -> socket.socket | None:
        """The socket of the request being read now (None before it was sent, after)."""
        return self._sock

    def detach(self) -> None:
        """Forget the socket so a later cancel cannot cut a pooled connection."""
        with self._lock:
            self._sock = None

    def cancel(self, reason: str = "stopped") -> None:
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            self.reason = reason
            _shutdown(self._sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_active = threading.local()


@contextmanager
def abortable(cancel: Cancellation) -> Iterator[None]:
    """Requests this thread sends meanwhile hand their socket to `cancel` (they must go
    through an `AbortableAdapter`)."""
    _active.token = cancel
    try:
        yield
    finally:
        _active.token = None


class _AbortableMixin:
    """Hands the socket to the thread's Cancellation before waiting for headers.

    Leans on urllib3's connection keeping its socket in `sock` and reading the response
    in `getresponse`, and on its PoolManager's `pool_classes_by_scheme` (below), checked
    against urllib3 2.7.0 and requests 2.34.2: tests/test_library_reaches.py fails when
    a request no longer hands its socket over."""

    sock: socket.socket | None

    def getresponse(self):  # type: ignore[no-untyped-def]
        token = getattr(_active, "token", None)
        if token is not None:
            token.attach(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _AbortableHTTPConnection(_AbortableMixin, HTTPConnection):
    pass


class _AbortableHTTPSConnection(_AbortableMixin, HTTPSConnection):
    pass


class _AbortableHTTPPool(HTTPConnectionPool):
    ConnectionCls = _AbortableHTTPConnection


class _AbortableHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _AbortableHTTPSConnection


class AbortableAdapter(HTTPAdapter):
    """Mount it on a `requests.Session` to make its requests abortable."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _AbortableHTTPPool,
            "https": _AbortableHTTPSPool,
        }
