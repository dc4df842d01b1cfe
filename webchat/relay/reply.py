"""One reply being generated: streamed from Ollama, relayed to a browser's tabs, saved.

Each reply runs in its own thread so the socket that asked for it stays free to hear
`stop` while Ollama is still loading the model. Its frames go to every tab of the browser
that follows replies; a tab that closes does not stop it. Only when every tab of the
browser has been gone for the grace period (`--reply-grace`) is the upstream request
closed. Text is relayed in frames at most one per FRAME_BUDGET (the first at once), and
saved about four times a second, so a killed server keeps all but the last quarter second
of what the user saw. Which replies run now, and each browser's open tabs, are
webchat/relay/running.py's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring_ascii as encode_json_string
from typing import TYPE_CHECKING, Any, Protocol

from ..ollama.cancellation import Cancellation
from ..ollama.client import OllamaClient
from ..ollama.errors import Cancelled, OllamaError, StreamTimeout
from ..ollama.stream import StreamEvent
from ..store.manager import SessionManager
from .payload import ENDPOINTS, redact_images
from .pump import BURST_EVENTS, FRAME_BUDGET
from .starts import LoadTimes, SlowStart, in_memory

if TYPE_CHECKING:
    from ..ollama.hosts import Host
    from .running import ActiveReplies

log = logging.getLogger(__name__)

# Why a reply's upstream request was closed, as stored with it and shown to the user.
ENDINGS = {
    "disconnected": "The browser went away before the reply finished",
    "shutdown": "The server was shut down before the reply finished",
}


def _send_text(tab: Any, data: str) -> bool:
    """A frame already encoded as JSON text, to a tab (one that takes only dicts gets
    the frame decoded again: test doubles)."""
    send_text = getattr(tab, "send_text", None)
    if send_text is not None:
        return bool(send_text(data))
    return bool(tab.send(json.loads(data)))


class Listener(Protocol):
    def send(self, frame: dict[str, Any]) -> bool: ...


class Reply:
    """One reply: its thread reads Ollama's stream, relays it to the tabs and saves it."""

    def __init__(self, *, sid: str, user_id: int, model: str, endpoint: str,
                 payload: dict[str, Any], sessions: SessionManager, client: OllamaClient,
                 active: ActiveReplies[Reply], listeners: list[Listener], conversation_id: int = 0,
                 on_end: Callable[[], None] | None = None, host: Host | None = None,
                 name_host: bool = False, load_times: LoadTimes | None = None) -> None:
        self.sid = sid
        self.started_at = time.monotonic()  # replies to the same model queue in this order
        self.load_times = load_times  # given: say why the start is slow (relay/starts.py)
        self.slow_start: SlowStart | None = None
        self.host = host  # the Ollama host answering (its client is `client`)
        self.name_host = name_host  # several hosts: errors say which one failed
        self.conversation_id = conversation_id  # (also sets _conversation_json)
        self.on_end = on_end
        self.user_id = user_id
        self.model = model
        self.endpoint = endpoint
        self.payload = payload
        self.sessions = sessions
        self.client = client
        self.active = active
        self.cancel = Cancellation()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"reply-{sid[:8]}", daemon=True)
        # The tabs that get this reply's frames; `_lock` keeps a tab that joins late from
        # missing or doubling a chunk (it gets the text so far, then what follows).
        self._lock = threading.Lock()
        self._listeners: list[Listener] = list(listeners)
        self._shown: dict[str, list[str]] = {"chunk": [], "thinking": []}
        self._closed = False  # the terminal frame went out: nobody can join any more
        self._past_stream = False  # the last token is in; only saving is left
        self._last_byte = time.monotonic()
        self._silent = False  # a notice that Ollama is quiet is showing
        self._reply_id = 0
        self._content: list[str] = []
        self._thinking: list[str] = []
        self._unsaved = False  # text came since the last partial save
        self._held: list[str] = []  # [kind, text, text, ...] read, not yet relayed
        self._stats: dict[str, Any] = {}  # Ollama's, from the `done` line
        self._tokens = 0
        self._first_token: float | None = None
        self._last_token = 0.0

    @property
    def conversation_id(self) -> int:
        return self._conversation_id

    @conversation_id.setter
    def conversation_id(self, value: int) -> None:
        self._conversation_id = value
        self._conversation_json = json.dumps(value)  # as it goes in every chunk frame

    def unsaved(self) -> tuple[int, str, str] | None:
        """The text so far when some of it is not saved yet (the watchdog saves it, once
        every WATCHDOG_TICK: a crash loses at most that)."""
        if not self._unsaved or not self._reply_id or self._past_stream:
            return None
        self._unsaved = False
        return self._reply_id, "".join(self._content), "".join(self._thinking)

    @property
    def ending(self) -> bool:
        """Stopped, or past its last token: about to end on its own."""
        return self.cancel.cancelled or self._past_stream

    @property
    def over(self) -> bool:
        """Its terminal frame went out; only the release of its claim is left."""
        return self._closed

    def start(self) -> None:
        self.thread.start()

    def stop(self, reason: str = "stopped") -> None:
        """Abort the upstream request now (`stopped`: the user asked; `abandoned`: every
        tab of the browser gone past the grace; `shutdown`: the server is stopping)."""
        self.cancel.cancel(reason)

    def attach(self, listener: Listener) -> bool:
        """Add a tab that opened after the reply started: it gets a `resume` frame with
        the text so far, then every frame that follows. False once the reply has ended."""
        with self._lock:
            if self._closed:
                return False
            if listener in self._listeners:
                return True
            frame = {"type": "resume", "conversation": self.conversation_id,
                     "message_id": self.user_id, "model": self.model,
                     "text": "".join(self._shown["chunk"]),
                     "thinking": "".join(self._shown["thinking"])}
            if self._silent:
                frame["notice"] = self._silence_text(self.active.silence)
            if listener.send(frame):
                self._listeners.append(listener)
            return True

    def announce(self, frame: dict[str, Any]) -> None:
        """Tell the tabs the reply begins (the `start` frame), before it starts."""
        self._relay(frame)

    def _relay_held(self, held: list[str]) -> None:
        """Relay the text read while the previous frame was going out, as one frame.

        The hot path of every stream: the frame's JSON is built here as text, exactly as
        `json.dumps` would write `{"type": ..., "text": ..., "conversation": ...}`, and
        each tab gets that text (no dict, no second encoding per tab)."""
        kind, texts = held[0], held[1:]
        held.clear()
        text = "".join(texts)
        frame_type = "chunk" if kind == "content" else "thinking"
        data = (f'{{"type": "{frame_type}", "text": {encode_json_string(text)}, '
                f'"conversation": {self._conversation_json}}}')
        with self._lock:
            self._shown[frame_type].append(text)
            self._listeners = [tab for tab in self._listeners if _send_text(tab, data)]

    def _relay(self, frame: dict[str, Any], last: bool = False) -> None:
        """Send to every tab following this reply; a tab that is gone is dropped."""
        frame = {**frame, "conversation": self.conversation_id}
        with self._lock:
            if frame["type"] in self._shown:
                self._shown[frame["type"]].append(frame["text"])
            self._listeners = [tab for tab in self._listeners if tab.send(frame)]
            self._closed = self._closed or last

    def _heard(self) -> None:
        """A byte from Ollama: clear a silence notice, or a `wait`, if one is showing."""
        self._last_byte = time.monotonic()
        if self.slow_start is not None:
            self.slow_start.heard()
        if self._silent:
            with self._lock:
                self._silent = False
            self._relay({"type": "notice", "code": "ollama_silent", "message": "",
                         "clear": True})

    def check_wait(self) -> None:
        """Called by the watchdog: a `wait` changes as the replies ahead finish."""
        if self.slow_start is not None and not self.ending:
            self.slow_start.update()

    def _ahead(self) -> int:
        """This server's replies to the same model on the same host, begun earlier and
        still generating: Ollama answers them before this one."""
        return sum(1 for other in self.active.all()
                   if other is not self and not other.ending
                   and getattr(other, "model", None) == self.model
                   and getattr(other, "host", None) is self.host
                   and getattr(other, "started_at", 0.0) < self.started_at)

    def check_silence(self, now: float, limit: float) -> None:
        """Called by the watchdog: say so once when Ollama has sent nothing for `limit` s."""
        if self.ending or self._silent or now - self._last_byte < limit:
            return
        with self._lock:
            self._silent = True
        self._relay({"type": "notice", "code": "ollama_silent",
                     "message": self._silence_text(limit)})

    def _silence_text(self, limit: float) -> str:
        if not self._shown["chunk"] and not self._shown["thinking"]:
            return (f"Ollama has not answered for {limit:g} s; it may still be loading "
                    "the model…")
        return f"Ollama is not answering (nothing for {limit:g} s)…"

    def _take(self, batch: list[StreamEvent]) -> bool:
        """Relay what one read brought, as one frame per kind (thinking, then content);
        True when a frame went out. Called by this reply's thread for the first chunk,
        then by the relay pump's."""
        self._heard()
        held = self._held
        for event in batch:
            if event.kind == "done":
                self._stats = event.stats
                continue
            self._tokens += 1
            (self._content if event.kind == "content" else self._thinking).append(event.text)
            if held and held[0] != event.kind:
                self._relay_held(held)
            if not held:
                held.append(event.kind)
            held.append(event.text)
        if not held:
            return False
        self._last_token = time.monotonic()
        if self._first_token is None:
            self._first_token = self._last_token
        self._relay_held(held)  # everything in hand, as one frame
        self._unsaved = True
        return True

    def _pumped(self, batches: Iterator[list[StreamEvent]], batch: Any) -> bool:
        """Hand the rest of the stream to the relay pump and wait for its end (raising
        what ended it, as reading it here would have). False when it cannot be handed
        over (no socket to watch), and this thread reads on."""
        pump = getattr(self.active, "pump", None)
        sock = self.cancel._sock
        if pump is None or sock is None:
            return False
        try:
            fd = sock.fileno()
        except OSError:
            return False
        if fd < 0:
            return False
        ended = threading.Event()
        outcome: list[BaseException | None] = []

        def finished(error: BaseException | None) -> None:
            outcome.append(error)
            ended.set()

        timeout = self.client.read_timeout
        never_wait = getattr(batch, "never_wait", None)
        eager = bool(never_wait is not None and never_wait())  # reads never block now
        pump.follow(fd, batches, self._take, finished, timeout, lambda: StreamTimeout(
            f"Ollama sent nothing for {timeout:g} s, so the request was abandoned"), eager)
        ended.wait()
        if outcome[0] is not None:
            raise outcome[0]
        return True

    def _run(self) -> None:
        content, thinking = self._content, self._thinking
        status, error = "ok", None
        reply_id = 0
        started = time.monotonic()
        self._last_token = started
        held = self._held  # [kind, text, text, ...] already read, not yet relayed
        try:
            reply_id = self.sessions.exchanges.begin_reply(
                self.sid, self.conversation_id, self.model, self.endpoint,
                redact_images(self.payload))
            self._reply_id = reply_id
            if self.load_times is not None:  # looked at before the request loads the model
                self.slow_start = SlowStart(
                    self.model, self.host.label if self.host is not None else "",
                    in_memory(self.host, self.client, self.model) is False, self.load_times,
                    self._ahead, self._relay)
                self.slow_start.update()
            batches = self.client.stream_batches(ENDPOINTS[self.endpoint], self.payload,
                                                 self.cancel)
            for batch in batches:
                if (not self._take(batch) or getattr(batch, "final", False)
                        or not getattr(batch, "direct", False)):
                    continue  # nothing relayed yet, the body has ended, or this is not
                    # a stream the pump can watch (TLS, not chunked): read on here
                # The first chunk went at once. From now on what arrives within
                # FRAME_BUDGET of a frame waits to go with the next one (well under what
                # an eye sees; the page paints once per animation frame anyway): the
                # relay pump does that for every stream from one thread.
                if self._pumped(batches, batch):
                    break
                # No pump: this thread keeps the budget itself (a big batch means the
                # relay is behind a burst: no pause then).
                pause = self._last_token + FRAME_BUDGET - time.monotonic()
                if pause > 0 and len(batch) < BURST_EVENTS:
                    time.sleep(pause)
        except Cancelled:
            reason = self.cancel.reason
            status = "stopped" if reason == "stopped" else "interrupted"
            error = ("Stopped before any reply" if status == "stopped"
                     else ENDINGS.get(reason) or (
                         f"Every tab of this browser was closed and none came back within "
                         f"{self.active.grace:g} s, so the reply was stopped"))
            self._stats = {"stopped": True, **_counted(self._tokens, self._first_token,
                                                       self._last_token)}
        except OllamaError as exc:
            status, error = "error", str(exc)
            if self.host is not None:
                self.host.forget()  # it may be gone: routing looks again before trusting it
                if self.name_host:
                    error = f"Ollama host '{self.host.label}' ({self.host.url}): {error}"
        except Exception:  # a bug must not leave the session busy forever
            log.exception("reply failed")
            status, error = "error", "The server hit an internal error; see its log"
        self._past_stream = True
        if held:  # text read just before the stream ended or broke
            self._relay_held(held)
        if self.host is not None:
            self.host.forget("ps")  # the model is loaded there now (or was unloaded)
        stats = self._stats
        if self.slow_start is not None:
            self.slow_start.ended(stats)
        stats.update(self._timings(started, self._first_token))
        text = "".join(content)
        if status == "stopped" and text:
            error = "Stopped by the user"
        try:
            if reply_id:
                self.sessions.exchanges.finish_reply(self.user_id, reply_id, text,
                                                     "".join(thinking), status, stats, error)
        except Exception:
            log.exception("could not save the reply")
            status, error = "error", "The reply could not be saved"
        try:
            # The terminal frame goes out before the claim is released, so a message
            # sent on seeing `done` finds the reply ending (and waits), never the next.
            if status in ("ok", "stopped"):
                self._relay({"type": "done", "stats": stats}, last=True)
            elif status == "error":
                self._relay({"type": "error", "code": "ollama", "message": error,
                             "partial": bool(text)}, last=True)
            else:
                self._relay({"type": "error", "code": "interrupted", "message": error,
                             "partial": bool(text)}, last=True)
        finally:
            self.active.release(self.sid, self)
            self.finished.set()
        if self.on_end is not None:
            self.on_end()

    def _timings(self, started: float, first_token: float | None) -> dict[str, Any]:
        timings: dict[str, Any] = {
            "model": self.model,
            "endpoint": self.endpoint,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if self.host is not None:
            timings["host"] = self.host.label
        if first_token is not None:
            timings["first_token_ms"] = round((first_token - started) * 1000, 1)
        return timings


def _counted(tokens: int, first: float | None, last: float) -> dict[str, Any]:
    """What is known of a reply cut short: Ollama sends its counts only at the end, but
    it streams one token per line, so the lines read are the tokens generated."""
    counted: dict[str, Any] = {"eval_count": tokens} if tokens else {}
    if first is not None and tokens > 1 and last > first:
        counted["tokens_per_second"] = round((tokens - 1) / (last - first), 2)
    return counted
