"""Limits per network address, so fresh cookies cannot dodge the per-browser ones.

One machine can make as many browsers (cookies) as it likes; it cannot make addresses.
Loopback peers are exempt: the machine's own user, and a reverse proxy on the same
machine (whose clients all arrive from 127.0.0.1 — the proxy should limit them).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from flask import current_app, request

from ..config import is_loopback
from .limits import RateLimiter


class PeerLimits:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.new_sessions = RateLimiter(config["NEW_SESSIONS_PER_MINUTE"], 60.0)
        self.messages = RateLimiter(config["MESSAGES_PER_ADDRESS"], 60.0)
        self.model_ops = RateLimiter(config.get("MODEL_OPS_PER_ADDRESS", 120), 60.0)
        self._lock = threading.Lock()
        self._sockets: dict[str, int] = defaultdict(int)

    @classmethod
    def unlimited(cls) -> PeerLimits:
        """For a connection made outside a request (tests): loopback, no limits."""
        return cls({"NEW_SESSIONS_PER_MINUTE": 1, "MESSAGES_PER_ADDRESS": 1,
                    "SOCKETS_PER_ADDRESS": 1})

    def exempt(self, address: str) -> bool:
        return not address or (is_loopback(address)
                                and not self.config.get("PEER_LIMITS_ON_LOOPBACK"))

    def new_session(self, address: str) -> float:
        """0, or the seconds this address must wait before it gets another browser id."""
        return 0.0 if self.exempt(address) else self.new_sessions.hit(address)

    def message(self, address: str) -> float:
        return 0.0 if self.exempt(address) else self.messages.hit(address)

    def model_op(self, address: str) -> float:
        return 0.0 if self.exempt(address) else self.model_ops.hit(address)

    def open_socket(self, address: str) -> str | None:
        """Count a socket, or say why this address may not open another."""
        limit = self.config["SOCKETS_PER_ADDRESS"]
        with self._lock:
            if not self.exempt(address) and self._sockets[address] >= limit:
                return (f"This address already has {self._sockets[address]} chats open "
                        f"(limit {limit}); close some tabs.")
            self._sockets[address] += 1
            return None

    def sockets_open(self, address: str) -> int:
        with self._lock:
            return self._sockets.get(address, 0)

    def close_socket(self, address: str) -> None:
        with self._lock:
            self._sockets[address] -= 1
            if self._sockets[address] <= 0:
                del self._sockets[address]


def peer_limits() -> PeerLimits:
    return current_app.extensions["webchat"].peers


def client_address() -> str:
    return request.remote_addr or "unknown"
