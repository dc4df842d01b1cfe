"""Ollama 0.30+ re-reads the last reply on every turn; reading it while the user types
puts it in the prompt cache before the next question (measured on 0.32.15).

Why: from 0.30 Ollama runs models in llama-server, which for models with sliding-window
attention (Gemma 3, gpt-oss) or recurrent layers can only roll its cache back to a
checkpoint, and checkpoints are made while a prompt is read (4 tokens before its end),
never while a reply is written. The reply is in the cache, but the next prompt goes on
past it, and llama-server goes back to the checkpoint and reads the reply again: with the
app's prompts sent byte for byte, its log says `f_keep = 1.000` (all of the cache
matches) and still `restored context checkpoint ... n_past = 103` for a prompt of 147, so
each turn read the last reply and the question (78 tokens for a 60-token reply and a
13-token question; 0.24.0 read 14). A request right after the reply, with the window and
the reply as it was stored and `num_predict` 1, makes llama-server read the reply and
checkpoint just past it; the next question then costs only itself.

It runs only where it helps (Ollama 0.30 or later, `/api/chat`, a reply kept in memory:
not with keep_alive 0) and never in anyone's way: a reply that starts on the same host
cancels it (Ollama stops at once when the client hangs up), and a failure is ignored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..ollama.cancellation import Cancellation
from ..ollama.errors import OllamaError
from .context_length import version_tuple

if TYPE_CHECKING:
    from ..ollama.hosts import Host

log = logging.getLogger(__name__)

FIRST_RELEASE = (0, 30)  # the first Ollama whose models run in llama-server


def needs_warming(version: str, payload: dict[str, Any], endpoint: str) -> bool:
    keep_alive = payload.get("keep_alive")
    return (endpoint == "chat" and bool(version) and version_tuple(version) >= FIRST_RELEASE
            and keep_alive not in (0, "0", "0s", "0m"))


def warming_payload(payload: dict[str, Any], reply: str) -> dict[str, Any]:
    """The request just answered, with its reply as the last message, for one token."""
    options = {**(payload.get("options") or {}), "num_predict": 1}
    messages = [*payload.get("messages", []), {"role": "assistant", "content": reply}]
    return {**payload, "messages": messages, "options": options}


class CacheWarmer:
    """The warm-ups in flight, one thread each, by host label."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, list[tuple[Cancellation, threading.Thread]]] = {}
        # What the warm-ups cost Ollama, summed (bench/prompt_cache.py): a sum, not a list
        # of each one's stats, which grew by one dict per reply for the server's life.
        self.prompt_eval_ns = 0
        # Told (model, host label) when a warm-up ends: it moved the model's expiry too.
        self.on_done: Callable[[str, str], None] | None = None

    def warm(self, host: Host, version: str, payload: dict[str, Any], endpoint: str,
             reply: str) -> None:
        if not reply or not needs_warming(version, payload, endpoint):
            return
        cancel = Cancellation()
        body = warming_payload(payload, reply)
        thread = threading.Thread(target=self._run, args=(host, body, cancel),
                                  name=f"warm-{host.label[:12]}", daemon=True)
        with self._lock:
            self._running.setdefault(host.label, []).append((cancel, thread))
        thread.start()

    def _run(self, host: Host, body: dict[str, Any], cancel: Cancellation) -> None:
        try:
            for batch in host.client.stream_batches("/api/chat", body, cancel):
                for event in batch:
                    if event.kind == "done":
                        spent = event.stats.get("prompt_eval_duration")
                        if isinstance(spent, int):
                            with self._lock:
                                self.prompt_eval_ns += spent
        except OllamaError as exc:  # stopped for a reply, or Ollama busy: no matter
            log.debug("warming the prompt cache ended: %s", exc)
        except Exception:
            log.exception("warming the prompt cache failed")
        finally:
            with self._lock:
                running = self._running.get(host.label, [])
                self._running[host.label] = [r for r in running if r[0] is not cancel]
            if self.on_done is not None:
                self.on_done(str(body.get("model") or ""), host.label)

    def cancel(self, host: Host) -> None:
        """A reply is about to start on `host`: nothing of ours may make it wait."""
        with self._lock:
            running = list(self._running.get(host.label, []))
        for cancel, _ in running:
            cancel.cancel("reply")

    def idle(self, timeout: float) -> bool:
        """Wait for the warm-ups in flight to end (the bench waits, as a person reads)."""
        with self._lock:
            threads = [t for runs in self._running.values() for _, t in runs]
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)
