"""Loading a model when it is picked, before the first message (`POST /api/load`).

A model takes about a second to load on a small CPU and far longer when big; loading it
while the user types hides that wait. Ollama loads a model for a request without a
prompt (shared/ollama-api.md, "Loading without a prompt"). Each preload is held here,
like a running reply, so a Stop or an unload cuts it at once, and an unload wins: a load
that Ollama goes on with after the cut is unloaded again when the request ends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..ollama.cancellation import Cancellation
from ..ollama.client import OllamaClient
from ..ollama.errors import Cancelled
from ..ollama.names import same_model


@dataclass
class Preload:
    sid: str
    model: str
    cancel: Cancellation = field(default_factory=Cancellation)


class Preloads:
    """The preloads running now, by browser and model."""

    def __init__(self, client: OllamaClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._running: list[Preload] = []

    def running(self, model: str | None = None) -> list[Preload]:
        with self._lock:
            return [p for p in self._running if model is None or same_model(p.model, model)]

    def load(self, sid: str, model: str, keep_alive: Any = None,
             client: OllamaClient | None = None) -> dict[str, Any]:
        """Load `model` now (on `client`'s host, by default the first host); returns
        when Ollama has it, or when stopped or unloaded. Ollama's errors (unknown model,
        Ollama down) propagate as OllamaError."""
        client = client or self.client
        preload = Preload(sid, model)
        with self._lock:
            self._running.append(preload)
        started = time.monotonic()
        payload: dict[str, Any] = {"model": model}
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        try:
            client.load_model(payload, preload.cancel)
            return {"model": model, "loaded": True,
                    "load_ms": round((time.monotonic() - started) * 1000, 1)}
        except Cancelled:
            reason = preload.cancel.reason
            text = ("The model was unloaded while it was loading." if reason == "unloaded"
                    else "Loading was stopped.")
            return {"model": model, "loaded": False, "cancelled": reason, "message": text}
        finally:
            with self._lock:
                self._running.remove(preload)
            if preload.cancel.reason == "unloaded":
                # Ollama may finish a load whose request was cut: unload wins.
                try:
                    client.unload_model(model, wait=0)
                except Exception:
                    pass  # Ollama went away: nothing is loaded then

    def cancel(self, *, sid: str | None = None, model: str | None = None,
               reason: str = "stopped") -> int:
        """Cut the preloads of a browser and/or of a model; returns how many."""
        chosen = [p for p in self.running(model) if sid is None or p.sid == sid]
        for preload in chosen:
            preload.cancel.cancel(reason)
        return len(chosen)
