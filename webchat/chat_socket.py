"""The `/ws` endpoint: JSON frames in, streamed reply frames out.

The contract (see docs/protocol.md) is fixed: extend it, never rename it. Every bad
frame gets an `error` frame and the socket stays open; only a frame larger than
MAX_FRAME_BYTES closes it (simple-websocket refuses to buffer it).

Here: the route, sending, receiving and the frames that manage the browser's things. The
frames that start or stop a reply are webchat/reply_frames.py, the checks of a frame's
fields webchat/frame_fields.py, and what the socket needs from TCP webchat/tcp.py.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from flask import current_app, session
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from .conversations import ConversationLimit, ConversationNotFound
from .ollama_errors import OllamaError
from .outbox import queue_writes
from .peers import PeerLimits, client_address
from .reply_frames import ReplyFrames
from .roles import ADMIN, Forbidden, check_pull_source, require_model_rights, role
from .safejson import UnsafeJson
from .safejson import parse as parse_json
from .services import Services
from .tcp import MAX_UNSENT, UNSENT_SLACK, no_delay, unsent
from .validation import InvalidInput, field_of, validate_model_name
from .ws_frames import FrameWriter

log = logging.getLogger(__name__)
sock = Sock()

FRAME_TYPES = ("chat", "stop", "clear", "system", "retry", "regenerate", "edit",
               "delete_last", "pull", "pull_cancel", "watch")


@sock.route("/ws")
def chat_socket(ws: Any) -> None:
    connection = ChatConnection(ws, session.get("sid"), current_app.extensions["webchat"])
    connection.peers = current_app.extensions["webchat_peers"]
    connection.address = client_address()
    connection.role = role()
    connection.serve()


class ChatConnection(ReplyFrames):
    """One browser tab's socket."""

    def __init__(self, ws: Any, sid: str | None, services: Services) -> None:
        self.ws = ws
        self.sid = sid or ""
        self.services = services
        self.config = services.config
        self._send_lock = threading.Lock()
        # Every write waits in a bounded queue instead of on the browser (outbox.py);
        # frames are written straight to it (ws_frames.py), else through ws.send.
        self._outbox = queue_writes(ws)
        self._writer = FrameWriter.for_socket(ws, self._outbox)
        self._unsent_bound = MAX_UNSENT  # unread bytes at most (see send_text): unknown
        self.watching = False  # asked for pushes (loaded models, downloads) with `watch`
        self.following = False  # asked for every reply of this browser (`watch` + replies)
        self.peers: PeerLimits = PeerLimits.unlimited()  # set by the route, per address
        self.address = ""
        self.role = ADMIN  # set by the route from the access check

    # -- sending ------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame now; False when the browser is gone, or was dropped for falling
        behind (never raises, never waits on a browser that stopped reading).

        Sent by the thread that made the frame (for replies, after the first chunk, the
        relay pump's one thread: replies.py). A write that waited on a browser that
        stopped reading (a laptop asleep with the socket still open, a client with a tiny
        receive window) would hold that thread, and with it every other stream: writes
        wait in the socket's outbox instead, and a browser that leaves more than
        MAX_UNSENT bytes unread is dropped, with a close frame saying why (outbox.py);
        it reconnects and catches up from the history."""
        return self.send_text(json.dumps(frame))

    def send_text(self, data: str) -> bool:
        """`send` for a frame already encoded as JSON text (the relay builds its chunk
        frames as text: replies.py).

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
        """This tab fell too far behind its frames and was dropped (outbox.py)."""
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
        handler = getattr(self, f"on_{frame['type']}", None) \
            if frame["type"] in FRAME_TYPES else None
        if handler is None:
            self.error(f"Unknown frame type {frame['type'][:40]!r}.", "bad_frame")
            return
        named = frame.get("conversation")
        where = {"conversation": named} if isinstance(named, int) else {}
        try:
            handler(frame)
        except InvalidInput as exc:
            field = field_of(str(exc))
            self.error(str(exc), "invalid", **where, **({"field": field} if field else {}),
                       **({"fields": exc.fields} if exc.fields else {}))
        except ConversationNotFound as exc:
            self.error(str(exc), "not_found", **where)
        except ConversationLimit as exc:
            self.error(str(exc), "limit")
        except Forbidden as exc:
            self.error(str(exc), "forbidden")
        except OllamaError as exc:
            self.error(str(exc), "ollama")
        except Exception:
            log.exception("frame handler failed")
            self.error("The server hit an internal error; see its log.", "internal")

    # -- frame types --------------------------------------------------------------

    def on_delete_last(self, frame: dict[str, Any]) -> None:
        cid = self._conversation(frame)
        if self._busy(cid):
            return
        ids = self.services.sessions.delete_last_exchange(cid)
        self.send({"type": "deleted", "conversation": cid, "ids": ids})

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
        try:
            name = validate_model_name(frame.get("model"))
            check_pull_source(name)
            host = self._host(frame)
            started = self.services.pulls.start(name, host)
        except InvalidInput as exc:
            self.error(str(exc), "invalid", field="model", pull=True)
            return
        if not started:
            self.error(f"{name} is already being downloaded.", "busy_pull", model=name,
                       pull=True)

    def on_pull_cancel(self, frame: dict[str, Any]) -> None:
        require_model_rights(self.role)
        self.services.pulls.cancel(validate_model_name(frame.get("model")), self._host(frame))

    def on_clear(self, frame: dict[str, Any]) -> None:
        if frame.get("conversation") is None and self.services.sessions.latest(self.sid) is None:
            self.send({"type": "cleared"})  # nothing to forget, and nothing written
            return
        cid = self._conversation(frame)
        if self._busy(cid):
            return
        self.services.sessions.clear(cid)
        named = frame.get("conversation")
        self.send({"type": "cleared", **({"conversation": cid} if named is not None else {})})

    def on_system(self, frame: dict[str, Any]) -> None:
        text = self._text(frame, allow_empty=True).strip()
        cid = self._conversation(frame, create=True)
        self.services.sessions.set_system(cid, text or None)
        self.send({"type": "system_set", "text": text, "conversation": cid})
