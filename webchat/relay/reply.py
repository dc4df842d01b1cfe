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
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as encode_json_string
from typing import TYPE_CHECKING, Any, Protocol

from ..ollama.cancellation import Cancellation
from ..ollama.client import OllamaClient
from ..ollama.errors import Cancelled, OllamaError, OllamaRejected, StreamTimeout
from ..ollama.stream import StreamEvent
from ..store.context_fit import overflow_text
from ..store.exchanges import ExchangeWriter
from .outcome import NOT_SAVED, Outcome, counted, final_frame, outcome_of, timings
from .payload import ENDPOINTS, redact_images
from .pump import BURST_EVENTS, FRAME_BUDGET
from .speed import close_stream, never_waits, pumpable, watched_fd
from .starts import LoadTimes, SlowStart, in_memory

if TYPE_CHECKING:
    from ..ollama.hosts import Host
    from .running import ActiveReplies

log = logging.getLogger(__name__)

def _send_text(tab: Any, data: str) -> bool:
    """A frame already encoded as JSON text, to a tab (one that takes only dicts gets
    the frame decoded again: test doubles)."""
    send_text = getattr(tab, "send_text", None)
    if send_text is not None:
        return bool(send_text(data))
    return bool(tab.send(json.loads(data)))


class Listener(Protocol):
    def send(self, frame: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class ReplyRequest:
    """What a reply is asked, complete before the reply exists: the question is stored
    (`user_id`), the body for Ollama built, the host chosen."""

    sid: str  # the browser
    conversation_id: int
    user_id: int  # the stored question it answers
    model: str
    endpoint: str  # "chat" or "generate"
    payload: dict[str, Any]  # the body sent to Ollama
    host: Host  # the Ollama host answering
    name_host: bool = False  # several hosts: errors say which one failed
    # The context window's hooks (relay/context_guard.py `Prepared`): a narrower payload
    # and a notice after Ollama's 400 for a prompt too long; what a reply teaches (its stats
    # and text: token counts, the prompt cache); what goes in the stats about the window.
    refit: Callable[[str], tuple[dict[str, Any], str] | None] | None = None
    learn: Callable[[dict[str, Any], str], None] | None = None
    context_stats: Callable[[], dict[str, Any]] | None = None


class Reply:
    """One reply: its thread reads Ollama's stream, relays it to the tabs and saves it."""

    def __init__(self, request: ReplyRequest, exchanges: ExchangeWriter,
                 active: ActiveReplies[Reply], listeners: list[Listener],
                 on_end: Callable[[], None] | None = None,
                 load_times: LoadTimes | None = None) -> None:
        self.request = request
        self.sid = request.sid
        self.host = request.host
        self.conversation_id = request.conversation_id
        self.user_id = request.user_id
        self.model = request.model
        self.payload = request.payload  # what is sent: narrower after a refit
        self.exchanges = exchanges  # where its text is saved
        self.client: OllamaClient = request.host.client
        self.active = active  # the running replies: its claim, the grace, the pump
        self.on_end = on_end
        self.started_at = time.monotonic()  # replies to the same model queue in this order
        self.load_times = load_times  # given: say why the start is slow (relay/starts.py)
        self.slow_start: SlowStart | None = None
        self._conversation_json = json.dumps(request.conversation_id)  # in each chunk frame
        self.cancel = Cancellation()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"reply-{self.sid[:8]}", daemon=True)
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
        the text so far (and any `wait`), then every frame that follows. False once ended."""
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
                if self.slow_start is not None:  # not begun: why, as the others were told
                    self.slow_start.tell(listener.send, self.conversation_id)
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
        pump = self.active.pump
        fd = watched_fd(self.cancel)
        if pump is None or fd is None:
            return False
        ended = threading.Event()
        outcome: list[BaseException | None] = []

        def finished(error: BaseException | None) -> None:
            outcome.append(error)
            ended.set()

        timeout = self.client.read_timeout
        eager = never_waits(batch)  # reads never block now
        pump.follow(fd, batches, self._take, finished, timeout, lambda: StreamTimeout(
            f"Ollama sent nothing for {timeout:g} s, so the request was abandoned"), eager)
        ended.wait()
        if outcome[0] is not None:
            raise outcome[0]
        return True

    def _stream(self) -> Iterator[Any]:
        """Ollama's batches. When it refuses the prompt as longer than its context before
        any token (the payload says `truncate: false`), the window is trimmed once more
        (`refit`), the stored request becomes the one sent, the tabs are told, and it
        goes again."""
        path = ENDPOINTS[self.request.endpoint]
        refit = self.request.refit
        try:
            yield from self.client.stream_batches(path, self.payload, self.cancel)
            return
        except OllamaRejected as exc:
            retry = refit(str(exc)) if refit is not None and not self._tokens else None
            if retry is None:
                raise OllamaRejected(overflow_text(str(exc)), 400) from exc
        self.payload, notice = retry
        if self._reply_id:
            self.exchanges.update_request(self._reply_id, redact_images(self.payload))
        self._relay({"type": "notice", "code": "context_trimmed", "message": notice})
        try:
            yield from self.client.stream_batches(path, self.payload, self.cancel)
        except OllamaRejected as exc:  # refused once more: said plainly, not retried
            raise OllamaRejected(overflow_text(str(exc)), 400) from exc

    def _run(self) -> None:
        """Read, relay, save: the stream from its first byte to its end, then the stored
        reply and the terminal frame (webchat/relay/outcome.py says which)."""
        started = time.monotonic()
        self._last_token = started
        reply_id, failure = self._relay_stream()
        self._past_stream = True
        if self._held:  # text read just before the stream ended or broke
            self._relay_held(self._held)
        self.host.forget("ps")  # the model is loaded there now (or was unloaded)
        if isinstance(failure, Cancelled):
            self._stats = {"stopped": True, **counted(self._tokens, self._first_token,
                                                      self._last_token)}
        elif isinstance(failure, OllamaError):
            self.host.forget()  # it may be gone: routing looks again before trusting it
        stats = self._stats
        if self.slow_start is not None:
            self.slow_start.ended(stats)
        stats.update(timings(self.model, self.request.endpoint, self.host.label, started,
                                 self._first_token))
        if self.request.context_stats is not None:
            stats.update(self.request.context_stats())
        text = "".join(self._content)
        outcome = outcome_of(failure, text, reason=self.cancel.reason, grace=self.active.grace,
                             host=(f"Ollama host '{self.host.label}' ({self.host.url})"
                                   if self.request.name_host else None))
        try:
            if reply_id:
                self.exchanges.finish_reply(self.user_id, reply_id, text,
                                            "".join(self._thinking), outcome.status, stats,
                                            outcome.error)
        except Exception:
            log.exception("could not save the reply")
            outcome = Outcome("error", NOT_SAVED)
        if self.request.learn is not None and outcome.status in ("ok", "stopped"):
            try:
                self.request.learn(stats, text)
            except Exception:  # counts are a help, never worth a reply
                log.exception("could not learn the prompt's token counts")
        try:
            # The terminal frame goes out before the claim is released, so a message
            # sent on seeing `done` finds the reply ending (and waits), never the next.
            self._relay(final_frame(outcome, stats, text), last=True)
        finally:
            self.active.release(self.sid, self)
            self.finished.set()
        if self.on_end is not None:
            self.on_end()

    def _relay_stream(self) -> tuple[int, BaseException | None]:
        """The stored reply's id, and what ended the stream (None: its `done`).

        This thread owns the stream: it opens it, reads it until the first chunk is out,
        hands the reading to the relay pump (when it can) and waits, and closes it at
        the end, whichever thread read it meanwhile."""
        request = self.request
        reply_id = 0
        batches: Iterator[list[StreamEvent]] | None = None
        try:
            reply_id = self.exchanges.begin_reply(self.sid, self.conversation_id, self.model,
                                                  request.endpoint,
                                                  redact_images(request.payload))
            self._reply_id = reply_id
            if self.load_times is not None:  # looked at before the request loads the model
                self.slow_start = SlowStart(
                    self.model, self.host.label,
                    in_memory(self.host, self.client, self.model) is False, self.load_times,
                    self._ahead, self._relay)
                self.slow_start.update()
            batches = self._stream()
            for batch in batches:
                if not self._take(batch) or not pumpable(batch):
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
        except Exception as exc:  # what ended it; a bug must not leave the session busy
            if not isinstance(exc, OllamaError):
                log.exception("reply failed")
            return reply_id, exc
        finally:
            if batches is not None:
                close_stream(batches)
        return reply_id, None
