"""A socket's outgoing frames, written by a thread of their own.

Whoever produces a frame (the reply thread, the handler answering a frame, a timer) only
queues it, so a slow browser never holds up reading from Ollama. And when the browser
falls behind a fast stream, the `chunk` (or `thinking`) frames waiting in the queue are
joined into one: fewer, larger frames instead of a backlog. When the browser keeps up,
every frame goes out alone and at once, as before.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

from simple_websocket import ConnectionClosed

MERGEABLE = ("chunk", "thinking")
MAX_MERGED_CHARS = 64 * 1024  # keep a caught-up frame well under any frame limit


class Outbox:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        # SimpleQueue: a C-level hand-off, several times cheaper per frame than a
        # Condition, which matters with 64 sockets streaming at once (bench/concurrency.py).
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._closed = False
        self.broken = False  # the browser is gone: sending failed
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def put(self, frame: dict[str, Any]) -> bool:
        """Queue a frame; False once the browser is known to be gone."""
        if self.broken or self._closed:
            return False
        self._queue.put(frame)
        return True

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued, then stop the writer."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _take(self) -> tuple[list[dict[str, Any]], bool]:
        """Wait for a frame, then take every frame already waiting; True at the end."""
        frames: list[dict[str, Any]] = []
        item = self._queue.get()
        while True:
            if item is None:
                return frames, True
            frames.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return frames, False

    def _run(self) -> None:
        done = False
        while not done:
            frames, done = self._take()
            for frame in merge(frames):
                try:
                    self.ws.send(json.dumps(frame))
                except (ConnectionClosed, OSError):
                    self.broken = True
                    return


def merge(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join neighbouring frames of the same mergeable type and fields; keep every other
    frame, and the order of all text."""
    merged: list[dict[str, Any]] = []
    for frame in frames:
        last = merged[-1] if merged else None
        if (last is not None and frame.get("type") in MERGEABLE
                and _same_but_text(last, frame) and len(last["text"]) < MAX_MERGED_CHARS):
            merged[-1] = {**last, "text": last["text"] + frame["text"]}
        else:
            merged.append(frame)
    return merged


def _same_but_text(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same type and same fields (e.g. the conversation id), text aside."""
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a if k != "text")
