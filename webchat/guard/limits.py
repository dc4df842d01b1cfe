"""Counters that keep one browser (or one address) from taking the whole server."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimited(Exception):
    """Past a rate limit: 429 on HTTP (with Retry-After), `rate_limited` on the socket."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """At most `limit` events per `window` seconds per key (sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return deque()
        return events

    def retry_after(self, key: str) -> float:
        """Seconds until the key may act again; 0 when it may act now."""
        now = time.monotonic()
        with self._lock:
            events = self._prune(key, now)
            if len(events) < self.limit:
                return 0.0
            return max(0.1, events[0] + self.window - now)

    def hit(self, key: str) -> float:
        """Count one event if allowed; return 0, or the seconds to wait if refused."""
        now = time.monotonic()
        with self._lock:
            events = self._prune(key, now)
            if len(events) >= self.limit:
                return max(0.1, events[0] + self.window - now)
            self._events[key].append(now)
            return 0.0


class SocketCounter:
    """Open sockets per session and in total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.per_session: dict[str, int] = defaultdict(int)
        self.total = 0

    def open(self, sid: str, per_session_limit: int, total_limit: int) -> str | None:
        """Count a new socket, or say why it is refused."""
        with self._lock:
            if self.total >= total_limit:
                return f"The server already has {self.total} open chats; try again later."
            if self.per_session[sid] >= per_session_limit:
                return (f"This browser already has {self.per_session[sid]} chat tabs open "
                        f"(limit {per_session_limit}); close one.")
            self.per_session[sid] += 1
            self.total += 1
            return None

    def close(self, sid: str) -> int:
        """Forget one socket; return how many this session still has open."""
        with self._lock:
            self.total -= 1
            self.per_session[sid] -= 1
            left = self.per_session[sid]
            if left <= 0:
                del self.per_session[sid]
            return max(0, left)


MIN_BUDGET_BYTES = 16 * 1024 * 1024  # all sockets together, at least (2 frames at most)


def budget_for(max_frame_bytes: int) -> int:
    """The shared budget: 16 MiB, or two whole frames when the frame limit is larger."""
    return max(MIN_BUDGET_BYTES, 2 * max_frame_bytes)


class PartialBudget:
    """Bytes the sockets hold unread beyond their free share, all sockets together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.held = 0

    def take(self, size: int) -> bool:
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.held -= size
