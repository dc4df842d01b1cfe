"""The socket's server side as it receives: messages counted in bytes as they arrive, and
one budget for what every socket holds unread.

simple-websocket's `max_message_size` counts a text message's characters, not its
bytes, and only as decoded pieces come in: 4 MB of four-byte characters is one million
characters, under the 1 MiB limit, and eight sockets each held such an unfinished
message open. Each socket may also keep a message unfinished for as long as it likes:
200 sockets each holding about 1 MB took the server to 265 MB. Here:
  - a message is counted in UTF-8 bytes as each piece arrives, and one past
    MAX_FRAME_BYTES closes its socket with 1009 (as before, now truly in bytes);
  - what a socket holds beyond FREE_BYTES (an unfinished message, and finished ones
    its handler has not taken yet) is drawn from one PartialBudget (guard/limits.py)
    shared by every
    socket; a socket that cannot draw what it needs is closed with 1013 (try again
    later). An ordinary frame (a chat message is at most 32 KB) never draws on it.

The 101 answer names the server as every HTTP answer does (config.SERVER_HEADER).
Adapted from simple-websocket 1.1 (`Base._handle_events`) and flask-sock 0.7 (`route`),
both MIT-licensed; the rest of their behaviour is theirs unchanged.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from ..config import SERVER_HEADER
from ..guard.limits import PartialBudget

FREE_BYTES = 64 * 1024  # held per socket without drawing on the budget
TRY_AGAIN_LATER = 1013


def _byte_size(data: str | bytes) -> int:
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


class GuardedServer(Server):
    """simple-websocket's server, receiving within the byte limit and the budget."""

    def __init__(self, environ: dict[str, Any], budget: PartialBudget,
                 **options: Any) -> None:
        self.budget = budget
        self._parts = bytearray()  # the unfinished message, in bytes (one buffer: a
        # list of 4 KB pieces left RSS three times what they held, in every thread's
        # malloc arena)
        self._text = True  # ... and whether it is text
        self._held = 0  # bytes of the unfinished message and of unread finished ones
        self._queued: list[int] = []  # the size of each unread finished message
        self._drawn = 0  # of _held, taken from the budget
        self._held_lock = threading.Lock()
        super().__init__(environ, **options)

    # -- what this socket holds --------------------------------------------------

    def _hold(self, delta: int) -> bool:
        """Grow (or shrink) what this socket holds; False when the budget cannot
        cover it (nothing changes then)."""
        with self._held_lock:
            wanted = max(0, self._held + delta - FREE_BYTES)
            extra = wanted - self._drawn
            if extra > 0 and not self.budget.take(extra):
                return False
            if extra < 0:
                self.budget.give(-extra)
            self._drawn = wanted
            self._held += delta
            return True

    def receive(self, timeout: float | None = None) -> Any:
        message = super().receive(timeout)
        if message is not None:
            with self._held_lock:
                size = self._queued.pop(0) if self._queued else 0
            self._hold(-size)
        return message

    def _thread(self) -> None:
        try:
            super()._thread()
        finally:  # the socket is gone: whatever it held goes back
            with self._held_lock:
                self.budget.give(self._drawn)
                self._drawn = self._held = 0
                self._queued.clear()

    # -- events (simple-websocket's loop, with the byte counts) -------------------

    def _refuse(self, code: int, reason: str) -> bytes:
        self.event.set()
        return self.ws.send(CloseConnection(code, reason))

    def _handle_events(self) -> bool:
        keep_going = True
        out_data = b""
        for event in self.ws.events():
            try:
                if isinstance(event, Request):
                    self.subprotocol = self.choose_subprotocol(event)
                    out_data += self.ws.send(AcceptConnection(
                        subprotocol=self.subprotocol, extensions=[PerMessageDeflate()],
                        extra_headers=[(b"server", SERVER_HEADER.encode())]))
                elif isinstance(event, CloseConnection):
                    if self.is_server:
                        out_data += self.ws.send(event.response())
                    self.close_reason = event.code
                    self.close_message = event.reason
                    self.connected = False
                    self.event.set()
                    keep_going = False
                elif isinstance(event, Ping):
                    out_data += self.ws.send(event.response())
                elif isinstance(event, Pong):
                    self.pong_received = True
                elif isinstance(event, (TextMessage, BytesMessage)):
                    refusal = self._piece(event)
                    if refusal is not None:
                        out_data += self._refuse(*refusal)
                        keep_going = False
                        break
            except LocalProtocolError:
                out_data = b""
                self.event.set()
                keep_going = False
        if out_data:
            self.sock.send(out_data)
        return keep_going

    def _piece(self, event: TextMessage | BytesMessage) -> tuple[int, str] | None:
        """Take one piece of a message; the close code and reason when it is refused."""
        size = _byte_size(event.data)
        self.incoming_message_len += size
        if self.max_message_size and self.incoming_message_len > self.max_message_size:
            return CloseReason.MESSAGE_TOO_BIG, "Message is too big"
        if not self._hold(size):
            return TRY_AGAIN_LATER, "The server is holding too many unfinished messages"
        if event.message_finished and not self._parts:
            message: str | bytes = event.data  # whole in one piece: as it came
        else:
            if not self._parts:
                self._text = isinstance(event, TextMessage)
            self._parts += _as_bytes(event.data)
            if not event.message_finished:
                return None
            joined, self._parts = self._parts, bytearray()
            message = joined.decode() if self._text else bytes(joined)
        with self._held_lock:
            self._queued.append(self.incoming_message_len)
        self.input_buffer.append(message)
        self.incoming_message_len = 0
        self.event.set()
        return None


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")


class GuardedSock(Sock):
    """flask-sock's extension, its routes served by GuardedServer."""

    def route(self, path: str, bp: Any = None, **kwargs: Any) -> Callable[[Any], Any]:
        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(handler)
            def websocket_route(*args: Any, **route_kwargs: Any) -> Any:
                ws = GuardedServer(request.environ,
                                   current_app.extensions["webchat"].partial_budget,
                                   **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
                try:
                    handler(ws, *args, **route_kwargs)
                except ConnectionClosed:
                    pass
                try:
                    ws.close()
                except Exception:
                    pass  # already closed
                if ws.mode == "werkzeug":
                    _stop_reading(ws.sock)
                return _after_socket(ws.mode)

            kwargs["websocket"] = True
            if bp is not None:
                bp.route(path, **kwargs)(websocket_route)
            elif self.app is not None:
                self.app.route(path, **kwargs)(websocket_route)
            else:  # registered with the app by init_app
                if self.bp is None:
                    self.bp = Blueprint("__flask_sock", __name__)
                self.bp.route(path, **kwargs)(websocket_route)
            return websocket_route

        return decorator


def _stop_reading(sock: socket.socket) -> None:
    """The development server drains what a client still sends once the app is done
    (`rfile.read(10_000_000)` until the client stops): a refused socket whose client
    kept sending held that much memory and a thread. Shut for reading, the drain takes
    what already arrived and ends; the close frame sent before still reaches it."""
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # already gone


def _after_socket(mode: str) -> Response:
    """What the WSGI server is handed once the socket is done (as flask-sock does)."""

    class WebSocketResponse(Response):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if mode == "gunicorn":
                raise StopIteration()
            if mode == "werkzeug":
                return super().__call__(*args, **kwargs)
            return []

    return WebSocketResponse()
