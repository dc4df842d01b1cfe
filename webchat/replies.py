"""One reply being generated: streamed from Ollama, relayed to a browser, saved once.

Each reply runs in its own thread so the socket that asked for it stays free to hear
`stop` while Ollama is still loading the model. Text is relayed chunk by chunk but saved
only at the end (and flushed about once a second, so a killed server keeps most of it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .ollama import Cancellation, Cancelled, OllamaClient, OllamaError
from .payloads import ENDPOINTS, redact_images
from .sessions import SessionManager

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between saves of a partial reply
MAX_JOINED = 256  # tokens joined into one frame at most, when the relay is behind
Send = Callable[[dict[str, Any]], bool]


class ActiveReplies:
    """At most one running reply per browser session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Reply] = {}

    def claim(self, sid: str, reply: Reply) -> bool:
        with self._lock:
            if sid in self._running:
                return False
            self._running[sid] = reply
            return True

    def release(self, sid: str, reply: Reply) -> None:
        with self._lock:
            if self._running.get(sid) is reply:
                del self._running[sid]

    def get(self, sid: str) -> Reply | None:
        with self._lock:
            return self._running.get(sid)

    def all(self) -> list[Reply]:
        with self._lock:
            return list(self._running.values())


class Reply:
    def __init__(self, *, sid: str, user_id: int, model: str, endpoint: str,
                 payload: dict[str, Any], sessions: SessionManager, client: OllamaClient,
                 active: ActiveReplies, send: Send, conversation_id: int = 0,
                 on_end: Callable[[], None] | None = None) -> None:
        self.sid = sid
        self.conversation_id = conversation_id
        self.on_end = on_end
        self.user_id = user_id
        self.model = model
        self.endpoint = endpoint
        self.payload = payload
        self.sessions = sessions
        self.client = client
        self.active = active
        self.send = send
        self.cancel = Cancellation()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"reply-{sid[:8]}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, reason: str = "stopped") -> None:
        """Abort the upstream request now; `disconnected` means nobody is listening."""
        self.cancel.cancel(reason)

    def _relay_held(self, held: list[str]) -> None:
        """Relay the text read while the previous frame was going out, as one frame."""
        kind, texts = held[0], held[1:]
        held.clear()
        self._relay({"type": "chunk" if kind == "content" else "thinking",
                     "text": "".join(texts)})

    def _relay(self, frame: dict[str, Any]) -> None:
        if not self.send({**frame, "conversation": self.conversation_id}):
            self.stop("disconnected")

    def _run(self) -> None:
        content: list[str] = []
        thinking: list[str] = []
        stats: dict[str, Any] = {}
        status, error = "ok", None
        reply_id = 0
        started = time.monotonic()
        first_token: float | None = None
        held: list[str] = []  # [kind, text, text, ...] already read, not yet relayed
        try:
            reply_id = self.sessions.begin_reply(self.sid, self.conversation_id, self.model,
                                                 self.endpoint, redact_images(self.payload))
            last_flush = started
            for event in self.client.stream(ENDPOINTS[self.endpoint], self.payload,
                                            self.cancel):
                if event.kind == "done":
                    stats = event.stats
                    continue
                if first_token is None:
                    first_token = time.monotonic()
                (content if event.kind == "content" else thinking).append(event.text)
                if held and held[0] != event.kind:
                    self._relay_held(held)
                held = held or [event.kind]
                held.append(event.text)
                if not event.more or len(held) > MAX_JOINED:
                    self._relay_held(held)  # nothing else in hand: send it now
                now = time.monotonic()
                if now - last_flush >= FLUSH_INTERVAL:
                    self.sessions.save_partial(reply_id, "".join(content), "".join(thinking))
                    last_flush = now
        except Cancelled:
            stopped = self.cancel.reason != "disconnected"
            status = "stopped" if stopped else "interrupted"
            error = ("Stopped before any reply" if stopped
                     else "The browser went away before the reply finished")
            stats = {"stopped": True}
        except OllamaError as exc:
            status, error = "error", str(exc)
        except Exception:  # a bug must not leave the session busy forever
            log.exception("reply failed")
            status, error = "error", "The server hit an internal error; see its log"
        if held:  # text read just before the stream ended or broke
            self._relay_held(held)
        stats.update(self._timings(started, first_token))
        text = "".join(content)
        if status == "stopped" and text:
            error = "Stopped by the user"
        try:
            if reply_id:
                self.sessions.finish_reply(self.user_id, reply_id, text, "".join(thinking),
                                           status, stats, error)
        except Exception:
            log.exception("could not save the reply")
            status, error = "error", "The reply could not be saved"
        finally:
            self.active.release(self.sid, self)
            self.finished.set()
        conversation = self.conversation_id
        if status in ("ok", "stopped"):
            self.send({"type": "done", "stats": stats, "conversation": conversation})
        elif status == "error":
            self.send({"type": "error", "code": "ollama", "message": error,
                       "partial": bool(text), "conversation": conversation})
        if self.on_end is not None:
            self.on_end()

    def _timings(self, started: float, first_token: float | None) -> dict[str, Any]:
        timings: dict[str, Any] = {
            "model": self.model,
            "endpoint": self.endpoint,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if first_token is not None:
            timings["first_token_ms"] = round((first_token - started) * 1000, 1)
        return timings
