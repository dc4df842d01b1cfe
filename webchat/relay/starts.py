"""Why a reply is slow to start, said where it will appear until its first token (the
`wait` frame, docs/protocol.md).

Two reasons this server can know. The model is loading: /api/ps on that host, as this
server last saw it, does not list it (a model a request is loading is listed from the start
of its load, so the look is taken before the request goes). And the reply waits behind this
server's other replies to the same model on the same host: Ollama answers a model's
requests one at a time (OLLAMA_NUM_PARALLEL, 1 by default on a CPU) and tells no client who
waits, so we count our own. How long a model took to load last time on a host is the
`load_duration` of the last reply that had to load it there: a cold load of Gemma 3 270M
took 0.7–1 s on 2 idle cores and 14.9 s at a load average of 16 (shared/ollama-api.md;
0.32.15 on this machine), which is what makes the figure worth saying.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..ollama.client import OllamaClient
from ..ollama.errors import OllamaError
from ..ollama.hosts import ROUTE_MAX_AGE
from ..ollama.names import same_model

if TYPE_CHECKING:
    from ..ollama.hosts import Host

# A "load" shorter than this was a model already in memory after all (/api/ps was seen a
# moment too early): Ollama reports about 0.1 s of load_duration for a warm model.
REAL_LOAD_S = 0.3
# How old a look at /api/ps may be to say whether a model is in memory: what routing
# trusts (ROUTE_MAX_AGE); older, it is asked again (a local /api/ps answers in
# milliseconds), as a model may have been unloaded meanwhile by its keep_alive or another
# client.
PS_FRESH = ROUTE_MAX_AGE


class LoadTimes:
    """The last load time of each model on each host (host label, model) -> seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[tuple[str, str], float] = {}

    def record(self, host: str, model: str, seconds: float) -> None:
        if seconds >= REAL_LOAD_S:
            with self._lock:
                self._seconds[(host, model)] = seconds

    def last(self, host: str, model: str) -> float | None:
        with self._lock:
            return self._seconds.get((host, model))


def loading_text(model: str, last: float | None) -> str:
    """"loading gemma3:270m (it took 12 s last time)", or without the figure when new."""
    if last is None:
        return f"loading {model}…"
    took = f"{last:.1f} s" if last < 10 else f"{last:.0f} s"
    return f"loading {model} (it took {took} last time)"


def waiting_text(ahead: int, host: str) -> str:
    """"waiting for Ollama: 2 replies ahead on gpu"."""
    replies = "1 reply" if ahead == 1 else f"{ahead} replies"
    return f"waiting for Ollama: {replies} ahead" + (f" on {host}" if host else "")


def in_memory(host: Host | None, client: OllamaClient, model: str) -> bool | None:
    """Is `model` in memory on its host, as /api/ps said within PS_FRESH seconds (asked
    now when that look is older)? None when Ollama cannot say."""
    hit, models = (False, None) if host is None else host.cached("ps", PS_FRESH)
    if not hit:
        try:
            models = client.list_loaded_models()
        except OllamaError:
            return None
    return any(isinstance(m, dict) and same_model(str(m.get(key) or ""), model)
               for m in models or [] for key in ("name", "model"))


class SlowStart:
    """One reply's `wait` frames: said after `start` when there is a reason, changed as
    the replies ahead finish (the watchdog's tick), cleared by the first byte from Ollama;
    at the end, a real load's time is kept for next time."""

    def __init__(self, model: str, host: str, cold: bool, load_times: LoadTimes,
                 ahead: Callable[[], int], relay: Callable[[dict[str, Any]], None]) -> None:
        self.model, self.host, self.cold = model, host, cold
        self.load_times = load_times
        self.ahead = ahead  # this server's replies to the model on the host before this one
        self.relay = relay
        self.shown = ""  # the text showing now ("" = none)
        self.showing: dict[str, Any] | None = None  # its frame, for a tab that joins late
        self.over = False  # the first byte came: nothing more to say

    def frame(self) -> dict[str, Any] | None:
        """What to say now, as a `wait` frame; None when there is no reason."""
        ahead = self.ahead()
        if ahead > 0:
            return {"type": "wait", "reason": "queued", "ahead": ahead, "host": self.host,
                    "message": waiting_text(ahead, self.host)}
        if self.cold:
            last = self.load_times.last(self.host, self.model)
            return {"type": "wait", "reason": "loading", "model": self.model,
                    "last_load_s": None if last is None else round(last, 1),
                    "message": loading_text(self.model, last)}
        return None

    def update(self) -> None:
        """Say what changed (at the start, then each watchdog tick until the first byte)."""
        if self.over:
            return
        frame = self.frame()
        text = frame["message"] if frame else ""
        if text == self.shown:
            return
        self.shown = text
        self.showing = frame
        self.relay(frame or {"type": "wait", "clear": True})

    def tell(self, send: Callable[[dict[str, Any]], Any], conversation: int) -> None:
        """Say what shows now to a tab that joined late (nothing once under way)."""
        showing = self.showing
        if showing is not None:
            send({**showing, "conversation": conversation})

    def heard(self) -> None:
        """The first byte from Ollama: the reply is under way."""
        if self.over:
            return
        self.over = True
        self.showing = None
        if self.shown:
            self.shown = ""
            self.relay({"type": "wait", "clear": True})

    def ended(self, stats: dict[str, Any]) -> None:
        load_ns = stats.get("load_duration")
        if self.cold and isinstance(load_ns, (int, float)):
            self.load_times.record(self.host, self.model, load_ns / 1e9)
