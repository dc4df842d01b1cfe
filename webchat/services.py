"""The long-lived objects one app instance shares between requests and sockets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ollama import OllamaClient
from .replies import ActiveReplies
from .sessions import SessionManager


@dataclass
class Services:
    config: Any  # the Flask config: limits are read live, so tests can change them
    client: OllamaClient
    sessions: SessionManager
    active: ActiveReplies
