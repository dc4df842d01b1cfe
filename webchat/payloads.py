"""The exact JSON sent to Ollama for a reply, built in one place so it can be shown.

Two modes, as in the seed: `/api/chat` with role-tagged messages (the default), or the
seed's `/api/generate` with the whole history flattened into one prompt string.
"""

from __future__ import annotations

from typing import Any

from .sessions import Message

ENDPOINTS = {"chat": "/api/chat", "generate": "/api/generate"}
_SPEAKERS = {"system": "System", "user": "User", "assistant": "Assistant"}


def flatten_prompt(system: str | None, window: list[Message]) -> str:
    """The seed's `build_prompt`: one transcript ending where the assistant speaks next."""
    lines = [f"System: {system}", ""] if system else []
    lines += [f"{_SPEAKERS[m.role]}: {m.content}" for m in window]
    lines.append("Assistant:")
    return "\n".join(lines)


def build_payload(endpoint: str, model: str, system: str | None, window: list[Message],
                  options: dict[str, Any], keep_alive: Any = None,
                  think: bool | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": model}
    if endpoint == "generate":
        payload["prompt"] = flatten_prompt(system, window)
    else:
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": m.role, "content": m.content} for m in window]
        payload["messages"] = messages
    if options:
        payload["options"] = options
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    if think is not None:
        payload["think"] = think
    payload["stream"] = True
    return payload
