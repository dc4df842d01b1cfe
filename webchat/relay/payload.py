"""The exact JSON sent to Ollama for a reply, built in one place so it can be shown.

Two modes, as in the seed: `/api/chat` with role-tagged messages (the default), or the
seed's `/api/generate` with the whole history flattened into one prompt string.
"""

from __future__ import annotations

from typing import Any

from ..store.history import Message

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
                  think: bool | str | None = None,
                  images: dict[str, str] | None = None,
                  truncate: bool | None = None) -> dict[str, Any]:
    """`images` maps upload ids to their base64 text, for the messages that carry some.
    `truncate: false` makes Ollama refuse a prompt longer than its context (400) instead
    of cutting it without a word (webchat/relay/context_guard.py sends it)."""
    images = images or {}
    payload: dict[str, Any] = {"model": model}
    if endpoint == "generate":
        payload["prompt"] = flatten_prompt(system, window)
        pictures = [images[i] for m in window for i in m.images if i in images]
        if pictures:
            payload["images"] = pictures
    else:
        messages = [{"role": "system", "content": system}] if system else []
        for m in window:
            message: dict[str, Any] = {"role": m.role, "content": m.content}
            pictures = [images[i] for i in m.images if i in images]
            if pictures:
                message["images"] = pictures
            messages.append(message)
        payload["messages"] = messages
    if options:
        payload["options"] = options
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    if think is not None:
        payload["think"] = think
    if truncate is not None:
        payload["truncate"] = truncate
    payload["stream"] = True
    return payload


def redact_images(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as stored for the inspector: each base64 image (megabytes) becomes a
    short note of its size; everything else is exactly what was sent."""
    def note(data: str) -> str:
        return f"<image: {len(data):,} characters of base64>"

    shown = dict(payload)
    if "images" in shown:
        shown["images"] = [note(d) for d in shown["images"]]
    if "messages" in shown:
        shown["messages"] = [
            {**m, "images": [note(d) for d in m["images"]]} if "images" in m else m
            for m in shown["messages"]]
    return shown
