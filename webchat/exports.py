"""A conversation as a file: Markdown to read, JSON to import again."""

from __future__ import annotations

import time
from typing import Any

from .validation import InvalidInput, validate_settings

FORMAT = "ollama-webchat/1"
MAX_IMPORT_MESSAGES = 5000
_STATUSES = {"user": ("ok", "failed"),
             "assistant": ("ok", "stopped", "error", "interrupted")}


def to_markdown(data: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    lines = [f"# {data['title'] or 'Conversation'}", "",
             f"_Exported from Ollama WebChat on {when}_", ""]
    if data.get("system"):
        lines += ["**System prompt:**", "", *[f"> {line}" for line in
                                              data["system"].splitlines()], ""]
    for message in data["messages"]:
        lines += ["---", ""]
        if message["role"] == "user":
            lines += ["### You", ""]
        else:
            model = f" ({message['model']})" if message.get("model") else ""
            lines += [f"### Assistant{model}", ""]
            if message.get("thinking"):
                lines += ["> **Thinking**", ">", *[f"> {line}" for line in
                                                   message["thinking"].splitlines()], ""]
        lines += [message["content"], ""]
        if message.get("status") not in ("ok", None):
            lines += [f"_({message['status']}: {message.get('error') or ''})_", ""]
    return "\n".join(lines).rstrip() + "\n"


def _text(value: Any, name: str, limit: int, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{name}: must be text of at most {limit:,} characters")
    return value


def check_import(body: Any) -> dict[str, Any]:
    """Check an exported conversation before anything is stored; name what is wrong."""
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InvalidInput(f'file: not a conversation exported by Ollama WebChat '
                           f'(expected "format": "{FORMAT}")')
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) > MAX_IMPORT_MESSAGES:
        raise InvalidInput(f"messages: must be a list of at most {MAX_IMPORT_MESSAGES:,}")
    clean = []
    for index, m in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(m, dict) or m.get("role") not in _STATUSES:
            raise InvalidInput(f"{where}: role must be user or assistant")
        status = m.get("status") if m.get("status") in _STATUSES[m["role"]] else (
            "ok" if m["role"] == "user" else "interrupted")
        clean.append({
            "role": m["role"],
            "content": _text(m.get("content", ""), f"{where}.content", 1_000_000),
            "thinking": _text(m.get("thinking") or "", f"{where}.thinking", 1_000_000),
            "status": status,
            "error": _text(m.get("error"), f"{where}.error", 2000, optional=True),
            "model": _text(m.get("model"), f"{where}.model", 200, optional=True),
            "endpoint": m.get("endpoint") if m.get("endpoint") in ("chat", "generate")
            else None,
            "stats": m.get("stats") if isinstance(m.get("stats"), dict) else None,
            "request": m.get("request") if isinstance(m.get("request"), dict) else None,
            "created_at": m.get("created_at") if isinstance(m.get("created_at"), (int, float))
            else None,
        })
    settings = body.get("settings") or {}
    return {
        "title": " ".join(_text(body.get("title") or "Imported conversation", "title",
                                200).split()),
        "system": _text(body.get("system"), "system", 100_000, optional=True) or None,
        "settings": validate_settings(settings) if settings else {},
        "messages": clean,
    }
