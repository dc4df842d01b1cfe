"""The `/ws` endpoint: JSON frames in, streamed reply frames out.

The contract (see docs/protocol.md) is fixed: extend it, never rename it. Every bad
frame gets an `error` frame and the socket stays open; only a frame larger than
MAX_FRAME_BYTES (in bytes) closes it with 1009, and one the shared budget for unread
messages cannot hold with 1013 (webchat/ws/inbound.py).

Here: the route, sending, receiving and the frames that manage the browser's things. The
frames that start or stop a reply are webchat/ws/reply_frames.py, the checks of a frame's
fields webchat/ws/fields.py, and what the socket needs from TCP webchat/relay/tcp.py.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, session
from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from ..guard.peers import PeerLimits, client_address
from ..guard.roles import check_pull_source, require_model_rights, role
from ..guard.safejson import UnsafeJson
from ..guard.safejson import parse as parse_json
from ..refusals import details, refusal_for
from ..relay.frames import FrameWriter
from ..relay.outbox import queue_writes
from ..relay.tcp import MAX_UNSENT, UNSENT_SLACK, no_delay, unsent
from ..services import Services
from ..validation import InvalidInput, validate_model_name
from . import commands
from .fields import FrameFields
from .inbound import GuardedSock
from .reply_frames import ReplyFrames

log = logging.getLogger(__name__)
sock = GuardedSock()  # receives in bytes, within one budget (webchat/ws/inbound.py)


@sock.route("/ws")
def chat_socket(ws: Any) -> None:
    services: Services = current_app.extensions["webchat"]
    ChatConnection(ws, session.get("sid"), services, role(), client_address(),
                   services.peers).serve()


class ChatConnection:
    """One browser tab's socket: who it is comes from the request that opened it (its
    browser, role and address), so the connection is whole when it is built."""

    def __init__(self, ws: Any, sid: str | None, services: Services, role: str,
                 address: str = "", peers: PeerLimits | None = None) -> None:
        self.ws = ws
        self.sid = sid or ""
        self.services = services
        self.config = services.config
        self.role = role
        self.address = address
        self.peers = peers or PeerLimits.unlimited()  # limits per network address
        self._send_lock = threading.Lock()
        # Every write waits in a bounded queue instead of on the browser (relay/outbox.py);
        # frames are written straight to it (relay/frames.py), else through ws.send.
        self._outbox = queue_writes(ws)
        self._writer = FrameWriter.for_socket(ws, self._outbox)
        self._unsent_bound = MAX_UNSENT  # unread bytes at most (see send_text): unknown
        self.watching = False  # asked for pushes (loaded models, downloads) with `watch`
        self.following = False  # asked for every reply of this browser (`watch` + replies)
        self.fields = FrameFields(self.sid, role, services, address)
        self.replies = ReplyFrames(self, self.fields, services, self.peers, address)
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "chat": self.on_chat, "stop": self.replies.on_stop, "clear": self.on_clear,
            "system": self.on_system, "retry": self.replies.on_retry,
            "regenerate": self.replies.on_regenerate, "edit": self.replies.on_edit,
            "delete_last": self.on_delete_last, "pull": self.on_pull,
            "pull_cancel": self.on_pull_cancel, "watch": self.on_watch, "undo": self.on_undo,
        }

    # -- sending ------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame now; False when the browser is gone, or was dropped for falling
        behind (never raises, never waits on a browser that stopped reading).

        Sent by the thread that made the frame (for replies, after the first chunk, the
        relay pump's one thread: relay/reply.py). A write that waited on a browser that
        stopped reading (a laptop asleep with the socket still open, a client with a tiny
        receive window) would hold that thread, and with it every other stream: writes
        wait in the socket's outbox instead, and a browser that leaves more than
        MAX_UNSENT bytes unread is dropped, with a close frame saying why
        (relay/outbox.py); it reconnects and catches up from the history."""
        return self.send_text(json.dumps(frame))

    def send_text(self, data: str) -> bool:
        """`send` for a frame already encoded as JSON text (the relay builds its chunk
        frames as text: relay/reply.py).

        Unread bytes are the outbox's and the kernel's. The kernel's count (an ioctl) is
        asked only when it could be over the limit: it was at most `_unsent_bound` when
        last asked, and can only have grown by what was written since (plus a few bytes
        of pongs: UNSENT_SLACK)."""
        with self._send_lock:
            if self._unsent_bound > MAX_UNSENT - UNSENT_SLACK:
                self._unsent_bound = unsent(self.ws)
                if self._unsent_bound > MAX_UNSENT:
                    if self._outbox is not None:
                        self._outbox.drop()
                    return False
            try:
                if self._writer is None:
                    self.ws.send(data)
                    self._unsent_bound = MAX_UNSENT  # not counted: ask the kernel next time
                    return self._outbox is None or not (self._outbox.dropped
                                                         or self._outbox.closed)
                written = self._writer.send(data)
            except (ConnectionClosed, LocalProtocolError, OSError):
                return False
            if written < 0:
                return False
            self._unsent_bound += written
            return True

    @property
    def dropped(self) -> bool:
        """This tab fell too far behind its frames and was dropped (relay/outbox.py)."""
        return self._outbox is not None and self._outbox.dropped

    def error(self, message: str, code: str, **extra: Any) -> None:
        self.send({"type": "error", "code": code, "message": message, **extra})

    # -- receiving ----------------------------------------------------------------

    def serve(self) -> None:
        no_delay(self.ws)
        if not self.sid:
            self.error("This browser has no session yet: reload the page.", "no_session")
            return
        refused = self.services.sockets.open(self.sid, self.config["SOCKETS_PER_SESSION"],
                                             self.config["SOCKETS_TOTAL"])
        if refused:
            self.error(refused, "too_many_sockets")
            return
        refused = self.peers.open_socket(self.address)
        if refused:
            self.services.sockets.close(self.sid)
            self.error(refused, "too_many_sockets")
            return
        self.services.usage.socket_opened(self.sid)
        self.services.active.tab_opened(self.sid)
        self.services.connections.add(self)
        try:
            while True:
                raw = self.ws.receive()
                if raw is not None:
                    self.handle(raw)
        except ConnectionClosed:
            pass
        finally:
            # A reply goes on: another tab, or this one reloaded, may still want it.
            self.services.active.tab_closed(self.sid)
            self.services.connections.discard(self)
            self.services.sockets.close(self.sid)
            self.peers.close_socket(self.address)
            self.services.usage.socket_closed(self.sid)

    def handle(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            self.error("Frames must be JSON text, not binary.", "bad_frame")
            return
        try:
            frame = parse_json(raw)
        except ValueError:
            self.error("Malformed frame: not valid JSON.", "bad_frame")
            return
        except UnsafeJson as exc:
            self.error(f"Malformed frame: {exc}", "bad_frame")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self.error('Malformed frame: expected an object with a "type".', "bad_frame")
            return
        handler = self._handlers.get(frame["type"])
        if handler is None:
            self.error(f"Unknown frame type {frame['type'][:40]!r}.", "bad_frame")
            return
        named = frame.get("conversation")
        where = {"conversation": named} if isinstance(named, int) else {}
        try:
            handler(frame)
        except Exception as exc:  # the table in webchat/refusals.py, else a bug
            refusal = refusal_for(exc)
            if refusal is None:
                log.exception("frame handler failed")
                self.error("The server hit an internal error; see its log.", "internal")
                return
            self.error(str(exc), refusal.code, **(where if refusal.names_conversation else {}),
                       **details(exc))

    # -- frame types --------------------------------------------------------------

    def on_chat(self, frame: dict[str, Any]) -> None:
        """A command typed in the chat input (webchat/ws/commands.py), else a message."""
        text = self.fields.text(frame)
        if commands.is_command(text):
            commands.run(commands.Caller(self.sid, self.role, self.address, self.services,
                                         self.send, self.error, self.on_clear), text, frame)
            return
        self.replies.on_chat(frame, text)

    def on_delete_last(self, frame: dict[str, Any]) -> None:
        cid = self.fields.conversation(frame)
        if self.replies.busy(cid):
            return
        ids, hold = self.services.sessions.exchanges.delete_last_exchange(cid)
        self.tell_browser({"type": "deleted", "conversation": cid, "ids": ids,
                           **self._undo_fields(hold)})

    def on_undo(self, frame: dict[str, Any]) -> None:
        """Put back what a `deleted` or `cleared` frame's `undo` names (`Aside`,
        store/conversations.py)."""
        aside = self.services.sessions.aside
        cid = aside.origin(self.sid, frame.get("undo"))
        if self.replies.busy(cid):
            return
        cid, ids = aside.restore(self.sid, frame["undo"])
        self.tell_browser({"type": "restored", "conversation": cid, "ids": ids})

    def _undo_fields(self, hold: int | None) -> dict[str, Any]:
        """What a frame needs to offer Undo: the token for the `undo` frame, and how long."""
        return {} if hold is None else {
            "undo": hold, "undo_seconds": self.services.sessions.aside.undo_seconds}

    def tell_browser(self, frame: dict[str, Any]) -> None:
        """This socket gets `frame`; every other tab of the browser gets it marked
        `elsewhere`, so each can redraw and offer the Undo."""
        self.send(frame)
        for other in list(self.services.connections):
            if other is not self and getattr(other, "sid", None) == self.sid:
                other.send({**frame, "elsewhere": True})

    def on_watch(self, frame: dict[str, Any]) -> None:
        """From now on push `loaded`, `pull_progress` and `pull_done` to this socket; with
        `replies: true` also every reply of this browser, the running one first."""
        self.watching = True
        if frame.get("replies") is True:
            self.following = True
            running = self.services.active.get(self.sid)
            if running is not None:
                running.attach(self)
        self.services.loaded_watch.poke(force=True)  # the list at once
        for progress in self.services.pulls.running():
            self.send(progress)

    def on_pull(self, frame: dict[str, Any]) -> None:
        """Errors say `pull: true`, so the page shows them by the download field."""
        require_model_rights(self.role)
        self.services.model_op(self.sid, self.address)
        try:
            name = validate_model_name(frame.get("model"))
            check_pull_source(name)
            host = self.fields.host(frame)
            started = self.services.pulls.start(name, host)
        except InvalidInput as exc:
            self.error(str(exc), "invalid", field="model", pull=True)
            return
        if not started:
            self.error(f"{name} is already being downloaded.", "busy_pull", model=name,
                       pull=True)

    def on_pull_cancel(self, frame: dict[str, Any]) -> None:
        require_model_rights(self.role)
        self.services.pulls.cancel(validate_model_name(frame.get("model")), self.fields.host(frame))

    def on_clear(self, frame: dict[str, Any]) -> None:
        conversations = self.services.sessions.conversations
        if frame.get("conversation") is None and conversations.latest(self.sid) is None:
            self.send({"type": "cleared"})  # nothing to forget, and nothing written
            return
        cid = self.fields.conversation(frame)
        if self.replies.busy(cid):
            return
        _, hold = self.services.sessions.aside.clear(cid)
        named = frame.get("conversation")
        self.tell_browser({"type": "cleared", **self._undo_fields(hold),
                           **({"conversation": cid} if named is not None else {})})

    def on_system(self, frame: dict[str, Any]) -> None:
        text = self.fields.text(frame, allow_empty=True).strip()
        cid = self.fields.conversation(frame, create=True)
        self.services.sessions.conversations.set_system(cid, text or None)
        self.send({"type": "system_set", "text": text, "conversation": cid})

