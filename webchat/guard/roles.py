"""Guests and an admin on a shared server.

Everyone with the share link (the access token) is a guest: they chat, manage their own
conversations, see the models and may unload one nobody else is using. Downloading and
deleting models change the machine for everyone, so they are the admin's: whoever opened
the admin link (the admin token), or on a loopback-only server the machine's own user.
`--guests-manage-models` gives guests those rights back.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from ..config import is_loopback
from ..validation import InvalidInput, duration_seconds

ADMIN = "admin"
GUEST = "guest"
DEFAULT_REGISTRY = "registry.ollama.ai"
FORBIDDEN = ("Only the admin of this shared server can download or delete models "
             "(open the admin link that the server printed).")



class Forbidden(Exception):
    """Refused for this role: 403 on HTTP, `forbidden` on the socket."""


class GuestCloudModels:
    """Whether guests may chat with models Ollama runs on ollama.com (each sends the whole
    conversation off the machine): --allow-cloud-models at start, then the admin's switch
    on the page (`PUT /api/cloud-models`), which holds until the server stops; a restart
    goes back to the flag, so sharing off the machine is always a choice made again."""

    def __init__(self, allowed: bool) -> None:
        self._allowed = bool(allowed)

    @property
    def allowed(self) -> bool:
        return self._allowed

    def allow(self, allowed: bool) -> None:
        self._allowed = bool(allowed)  # one reference swap: no lock needed


def lan_bound(config: Any) -> bool:
    return not is_loopback(config["HOST"])


def role() -> str:
    """This request's role, as the access check worked it out."""
    return getattr(g, "role", None) or (GUEST if lan_bound(current_app.config) else ADMIN)


def may_manage_models(who: str) -> bool:
    return who == ADMIN or bool(current_app.config.get("GUESTS_MANAGE_MODELS"))


def require_model_rights(who: str) -> None:
    if not may_manage_models(who):
        raise Forbidden(FORBIDDEN)


def cap_keep_alive(value: Any, who: str) -> Any:
    """A guest may keep a model loaded at most --max-keep-alive, never forever."""
    if who == ADMIN or value is None:
        return value
    limit_text = current_app.config.get("MAX_KEEP_ALIVE") or "30m"
    limit = duration_seconds(limit_text)
    if limit is None or limit < 0:
        limit, limit_text = 1800.0, "30m"
    wanted = duration_seconds(value)
    if wanted is None or wanted < 0 or wanted > limit:
        return int(limit) if float(limit).is_integer() else limit
    return value


def registry_of(name: str) -> str | None:
    """The registry host a model name names (`host.example/ns/model`), if any."""
    parts = name.split("/")
    if len(parts) < 2:
        return None
    first = parts[0].lower()
    if len(parts) >= 3 or "." in first or ":" in first or first == "localhost":
        return first
    return None


def check_pull_source(name: str) -> None:
    host = registry_of(name)
    if host is None or host == DEFAULT_REGISTRY:
        return
    allowed = {h.strip().lower() for h in
               str(current_app.config.get("ALLOW_PULL_FROM") or "").split(",") if h.strip()}
    if host not in allowed:
        raise InvalidInput(f"model: downloads from {host} are not allowed on this server "
                           f"(start it with --allow-pull-from {host} to allow them)")
