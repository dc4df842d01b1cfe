"""The `/ws` endpoint: JSON frames in, streamed reply frames out.

The contract (see docs/protocol.md) is fixed: extend it, never rename it. Every bad
frame gets an `error` frame and the socket stays open; only a frame larger than
MAX_FRAME_BYTES closes it (simple-websocket refuses to buffer it).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, session
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from . import commands
from .conversations import ConversationLimit, ConversationNotFound
from .ids import is_id
from .ollama_errors import OllamaError
from .ollama_hosts import Host, UnknownHost
from .payloads import build_payload
from .peers import PeerLimits, client_address
from .replies import Reply
from .roles import ADMIN, Forbidden, cap_keep_alive, check_pull_source, require_model_rights, role
from .safejson import UnsafeJson
from .safejson import parse as parse_json
from .services import Services
from .validation import (
    MAX_IMAGES,
    InvalidInput,
    field_of,
    validate_keep_alive,
    validate_model_name,
    validate_options,
)

log = logging.getLogger(__name__)
sock = Sock()

FRAME_TYPES = ("chat", "stop", "clear", "system", "retry", "regenerate", "edit",
               "delete_last", "pull", "pull_cancel", "watch")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@sock.route("/ws")
def chat_socket(ws: Any) -> None:
    connection = ChatConnection(ws, session.get("sid"), current_app.extensions["webchat"])
    connection.peers = current_app.extensions["webchat_peers"]
    connection.address = client_address()
    connection.role = role()
    connection.serve()


MAX_UNSENT = 256 * 1024  # bytes a browser may leave unread before frames stop going to it


try:  # Unix: the kernel says how much of what was sent is still queued
    import fcntl
    import termios
except ImportError:  # elsewhere the limit is not checked
    fcntl = termios = None  # type: ignore[assignment]


def _unsent(ws: Any) -> int:
    """Bytes sent to this socket that the browser has not taken yet (TIOCOUTQ)."""
    if fcntl is None:
        return 0
    try:
        return struct.unpack("i", fcntl.ioctl(ws.sock.fileno(), termios.TIOCOUTQ,
                                              b"\0\0\0\0"))[0]
    except (AttributeError, OSError, ValueError):
        return 0  # not a socket the kernel can say this about: send as ever


def _no_delay(ws: Any) -> None:
    """Send each small frame at once. Without TCP_NODELAY the kernel holds the first
    chunk after `start` until the browser acknowledges `start`: about 40 ms (Nagle and
    delayed ACK), measured by bench/relay.py."""
    try:
        ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass  # not a TCP socket (e.g. a test double)


class ChatConnection:
    """One browser tab's socket."""

    def __init__(self, ws: Any, sid: str | None, services: Services) -> None:
        self.ws = ws
        self.sid = sid or ""
        self.services = services
        self.config = services.config
        self._send_lock = threading.Lock()
        self.watching = False  # asked for pushes (loaded models, downloads) with `watch`
        self.following = False  # asked for every reply of this browser (`watch` + replies)
        self.peers: PeerLimits = PeerLimits.unlimited()  # set by the route, per address
        self.address = ""
        self.role = ADMIN  # set by the route from the access check

    # -- sending ------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame now; False when the browser is gone, or so far behind that
        sending could block (never raises, never waits on a browser that stopped reading).

        Sent by the thread that made the frame (for replies, after the first chunk, the
        relay pump's one thread: replies.py). A browser that leaves more than
        MAX_UNSENT bytes unread (a laptop asleep with the socket still open) would block
        that thread, and with it every other stream; it is dropped from the reply
        instead, and catches up from the history when it comes back."""
        data = json.dumps(frame)
        with self._send_lock:
            if _unsent(self.ws) > MAX_UNSENT:
                return False
            try:
                self.ws.send(data)
                return True
            except (ConnectionClosed, OSError):
                return False

    def error(self, message: str, code: str, **extra: Any) -> None:
        self.send({"type": "error", "code": code, "message": message, **extra})

    # -- receiving ----------------------------------------------------------------

    def serve(self) -> None:
        _no_delay(self.ws)
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

    def _text(self, frame: dict[str, Any], allow_empty: bool = False) -> str:
        text = frame.get("text")
        if not isinstance(text, str):
            raise InvalidInput('text: must be a string')
        if not allow_empty and not text.strip():
            raise InvalidInput("text: the message is empty")
        limit = self.config["MAX_MESSAGE_BYTES"]
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise InvalidInput(f"text: the message is {size:,} bytes; the limit is {limit:,}")
        return text

    def _busy(self, conversation: int | None = None) -> bool:
        """A reply runs for this browser (in `conversation`, when one is given). One that
        is ending (stopped, or past its last token) is given a moment to finish first."""
        running = self.services.active.settled(self.sid)
        if running is None or (conversation is not None
                               and running.conversation_id != conversation):
            return False
        self.error("A reply is still being generated: wait for it or press Stop.", "busy",
                   conversation=running.conversation_id)
        return True

    def _conversation(self, frame: dict[str, Any]) -> int:
        """The conversation a frame names (checked against this browser), or by default
        its most recent one."""
        return self.services.sessions.resolve(self.sid, frame.get("conversation"),
                                              self.config["MAX_CONVERSATIONS"])

    def _message_id(self, frame: dict[str, Any], what: str) -> int:
        message_id = frame.get("id")
        if not is_id(message_id):
            raise InvalidInput(f"id: must be the id of {what}")
        return message_id

    def _images(self, frame: dict[str, Any], model: str, pinned: Host | None) -> list[str]:
        """Upload ids (POST /api/uploads) this browser owns, for a model that can see."""
        images = frame.get("images")
        if images is None or images == []:
            return []
        if not isinstance(images, list) or not all(
                isinstance(i, str) and _UPLOAD_ID.match(i) for i in images):
            raise InvalidInput("images: must be a list of upload ids")
        if len(images) > MAX_IMAGES:
            raise InvalidInput(f"images: at most {MAX_IMAGES} images per message")
        for upload_id in images:
            if self.services.sessions.upload(self.sid, upload_id) is None:
                raise InvalidInput("images: an attached image is gone; attach it again")
        host = self.services.hosts.route(model, pinned)
        capabilities = host.client.show_model(model).get("capabilities") or []
        if "vision" not in capabilities:
            raise InvalidInput(f"images: {model} cannot see images; pick a vision model")
        return list(images)

    def _rate_limited(self) -> bool:
        wait = self.services.message_rate.hit(self.sid)
        if wait:
            limit = self.config["MESSAGES_PER_MINUTE"]
            self.error(f"Too many messages: at most {limit} a minute. Try again in "
                       f"{int(wait) + 1} s.", "rate_limited")
            return True
        wait = self.peers.message(self.address)
        if wait:
            limit = self.config["MESSAGES_PER_ADDRESS"]
            self.error(f"Too many messages from this address: at most {limit} a minute "
                       f"for all its browsers. Try again in {int(wait) + 1} s.",
                       "rate_limited")
        return bool(wait)

    def on_chat(self, frame: dict[str, Any]) -> None:
        text = self._text(frame)
        if commands.is_command(text):
            commands.run(self, text, frame)
            return
        cid = self._conversation(frame)
        request = self._reply_settings(frame)
        images = self._images(frame, request["model"], request["host"])
        if self._busy() or self._rate_limited():
            return
        self._start_reply(cid, request, lambda: self.services.sessions.add_user(
            self.sid, cid, text, request["model"], images))

    def _rerun(self, frame: dict[str, Any], reopen: Callable[[int], int]) -> None:
        """Answer a stored message again. `reopen(cid)` puts it back in flight and
        returns its id; a ValueError from it is the user's mistake, said as such."""
        cid = self._conversation(frame)
        request = self._reply_settings(frame)
        if self._busy() or self._rate_limited():
            return

        def store() -> int:
            try:
                return reopen(cid)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None

        self._start_reply(cid, request, store)

    def on_retry(self, frame: dict[str, Any]) -> None:
        message_id = self._message_id(frame, "the failed message")

        def retry(cid: int) -> int:
            if not self.services.sessions.retry_user(cid, message_id):
                raise ValueError("Only the last message, when its reply failed, can be retried")
            return message_id

        self._rerun(frame, retry)

    def on_regenerate(self, frame: dict[str, Any]) -> None:
        """Answer the last question again: its reply is replaced."""
        self._rerun(frame, self.services.sessions.regenerate)

    def on_edit(self, frame: dict[str, Any]) -> None:
        """Rewrite one of your messages and send it again; the messages after it go."""
        message_id = self._message_id(frame, "the message to edit")
        text = self._text(frame)
        self._rerun(frame, lambda cid: self.services.sessions.edit_user(cid, message_id, text))

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

    def _host(self, frame: dict[str, Any]) -> Host | None:
        """The host a frame names (`"host"`: a label), None when it names none."""
        try:
            return self.services.hosts.pick(frame.get("host"))
        except UnknownHost as exc:
            raise InvalidInput(str(exc)) from None

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

    def _reply_settings(self, frame: dict[str, Any]) -> dict[str, Any]:
        options = frame.get("options")
        keep_alive = frame.get("keep_alive")
        if isinstance(options, dict) and "keep_alive" in options:
            options = dict(options)
            keep_alive = options.pop("keep_alive")
        endpoint = frame.get("endpoint", "chat")
        if endpoint not in ("chat", "generate"):
            raise InvalidInput('endpoint: must be "chat" or "generate"')
        think = frame.get("think")
        if think is not None and not isinstance(think, bool):
            raise InvalidInput("think: must be true or false")
        return {
            "host": self._host(frame),
            "model": validate_model_name(frame.get("model")),
            "options": validate_options(options),
            "keep_alive": cap_keep_alive(validate_keep_alive(keep_alive), self.role),
            "endpoint": endpoint,
            "think": think,
        }

    def _start_reply(self, cid: int, request: dict[str, Any], store_user_message: Any) -> None:
        services = self.services
        sessions, active = services.sessions, services.active
        host = services.hosts.route(request["model"], request["host"],
                                    services.last_host.get(cid), services.busy_hosts())
        tabs = [self] + [c for c in list(services.connections)
                         if c is not self and c.sid == self.sid and c.following]
        reply = Reply(sid=self.sid, user_id=0, model=request["model"],
                      endpoint=request["endpoint"], payload={}, sessions=sessions,
                      client=host.client, active=active, listeners=tabs,
                      conversation_id=cid, on_end=services.loaded_watch.poke, host=host,
                      name_host=services.hosts.several)
        if not active.claim(self.sid, reply):
            self.error("A reply is still being generated: wait for it or press Stop.", "busy")
            return
        try:
            reply.user_id = store_user_message()
            window = sessions.context_window(cid)
            reply.payload = build_payload(
                request["endpoint"], request["model"], sessions.system_prompt(cid),
                window, request["options"], request["keep_alive"], request["think"],
                self._image_data(window))
        except BaseException:
            active.release(self.sid, reply)
            raise
        services.last_host[cid] = host.label
        services.usage.used(self.sid, request["model"], host.label)
        reply.announce({"type": "start", "message_id": reply.user_id, "model": reply.model,
                        "host": host.label})
        reply.start()

    def _image_data(self, window: list[Any]) -> dict[str, str]:
        data: dict[str, str] = {}
        for message in window:
            for upload_id in message.images:
                found = self.services.sessions.upload(self.sid, upload_id)
                if found is not None:
                    data[upload_id] = base64.b64encode(found[1]).decode("ascii")
        return data

    def on_stop(self, frame: dict[str, Any]) -> None:
        """Stop this browser's reply, and any model it is loading (POST /api/load); a
        `stop` naming another conversation than the replying one stops no reply, so Stop
        belongs to the conversation that is replying."""
        reply = self.services.active.get(self.sid)
        named = frame.get("conversation")
        if reply is not None and (named is None or named == reply.conversation_id):
            reply.stop("stopped")
        self.services.preloads.cancel(sid=self.sid, reason="stopped")

    def on_clear(self, frame: dict[str, Any]) -> None:
        cid = self._conversation(frame)
        if self._busy(cid):
            return
        self.services.sessions.clear(cid)
        named = frame.get("conversation")
        self.send({"type": "cleared", **({"conversation": cid} if named is not None else {})})

    def on_system(self, frame: dict[str, Any]) -> None:
        text = self._text(frame, allow_empty=True).strip()
        cid = self._conversation(frame)
        self.services.sessions.set_system(cid, text or None)
        self.send({"type": "system_set", "text": text, "conversation": cid})
