"""A conversation as a file: Markdown to read, JSON to import again."""

from __future__ import annotations

import base64
import binascii
import re
import time
import unicodedata
from typing import Any
from urllib.parse import quote

from ..guard.ids import is_id
from ..validation import MAX_IMAGES, InvalidInput, sniff_image, validate_settings

FORMAT = "ollama-webchat/1"
MAX_IMPORT_MESSAGES = 5000
_STATUSES = {"user": ("ok", "failed"),
             "assistant": ("ok", "stopped", "error", "interrupted")}


def _stem(text: str) -> str:
    words = "".join(c if c.isalnum() else "-" for c in text)
    return "-".join(part for part in words.split("-") if part)[:60]


def content_disposition(title: str, suffix: str) -> str:
    """`attachment` with the title as file name: an ASCII fallback for old clients plus
    RFC 6266's `filename*` in UTF-8, since a header must stay Latin-1 (a Greek or emoji
    title once hung the dev server and gave a 500 under gunicorn)."""
    title = title or "conversation"
    full = _stem(title) or "conversation"
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    ascii_stem = _stem(folded) or "conversation"
    return (f'attachment; filename="{ascii_stem}.{suffix}"; '
            f"filename*=UTF-8''{quote(f'{full}.{suffix}', safe='', errors='replace')}")


def fenced(text: str) -> list[str]:
    """A message body as a fenced block the rest of the file survives: the fence is one
    backtick longer than the longest run of backticks inside (at least three), so
    nothing in the body can close it (CommonMark: a closing fence is at least as long as
    the opening), and a fence the body opens and never closes ends with it. Written raw,
    a reply's unclosed ```python turned every later heading into code."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}markdown", *text.splitlines(), fence]


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
        versions = message.get("versions")
        if versions:
            lines += [f"_(version {versions['index']} of {versions['count']})_", ""]
        lines += [*fenced(message["content"]), ""]
        if message.get("images"):
            count = len(message["images"])
            lines += [f"_({count} image{'s' if count > 1 else ''} attached: kept in the JSON "
                      f"export, not in this file)_", ""]
        if message.get("status") not in ("ok", None):
            lines += [f"_({message['status']}: {message.get('error') or ''})_", ""]
    return "\n".join(lines).rstrip() + "\n"


def _text(value: Any, name: str, limit: int, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{name}: must be text of at most {limit:,} characters")
    return value


LATEST_TIME = 4102444800  # 2100-01-01: a later created_at is garbage, not a date


def _created_at(value: Any, name: str) -> float | None:
    """Seconds since 1970, finite and in a sane range, or absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value <= LATEST_TIME:
        raise InvalidInput(f"{name}: must be a time in seconds since 1970, up to the "
                           f"year 2100")
    return float(value)


def _images(value: Any, where: str, max_bytes: int) -> list[tuple[str, bytes]]:
    """An exported message's pictures, decoded and checked like an upload. Each one's
    base64 text is dropped from the file's tree once decoded, so a file's pictures are
    never held twice over."""
    if value is None or value == []:
        return []
    if not isinstance(value, list) or len(value) > MAX_IMAGES:
        raise InvalidInput(f"{where}: must be a list of at most {MAX_IMAGES}")
    images = []
    for index, image in enumerate(value):
        data = image.get("data") if isinstance(image, dict) else None
        try:
            raw = base64.b64decode(data, validate=True) if isinstance(data, str) else b""
        except (binascii.Error, ValueError):
            raw = b""
        if isinstance(data, str):
            image["data"] = None
        mime = sniff_image(raw)
        if mime is None:
            raise InvalidInput(f"{where}[{index}]: not a PNG, JPEG, WebP or GIF image in "
                               f"base64")
        if len(raw) > max_bytes:
            raise InvalidInput(f"{where}[{index}]: the image is {len(raw) / 1048576:.1f} MB; "
                               f"the limit is {max_bytes / 1048576:.1f} MB")
        images.append((mime, raw))
    return images


def export_images(images: list[tuple[str, bytes]]) -> list[dict[str, str]]:
    return [{"mime": mime, "data": base64.b64encode(data).decode("ascii")}
            for mime, data in images]


def _parent(m: dict[str, Any], index: int, where: str, seen: dict[int, int]) -> int | None:
    """The position of the message this one follows. A file without `parent_id` (written
    before versions, or by hand) is a chain: each message follows the one before."""
    if "parent_id" not in m:
        return index - 1 if index else None
    parent = m["parent_id"]
    if parent is None:
        return None
    if not is_id(parent) or parent not in seen:
        raise InvalidInput(f"{where}.parent_id: must be null or the id of an earlier message")
    return seen[parent]


def check_import(body: Any, max_image_bytes: int) -> dict[str, Any]:
    """Check an exported conversation before anything is stored; name what is wrong.

    Every version of every message comes back: `parent` and `leaf` in the result are
    positions in `messages`, the ids in the file only say which message follows which."""
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InvalidInput(f'file: not a conversation exported by Ollama WebChat '
                           f'(expected "format": "{FORMAT}")')
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) > MAX_IMPORT_MESSAGES:
        raise InvalidInput(f"messages: must be a list of at most {MAX_IMPORT_MESSAGES:,}")
    clean = []
    seen: dict[int, int] = {}  # id in the file -> position
    for index, m in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) \
                or m["role"] not in _STATUSES:  # a list is not a key: TypeError, a 500
            raise InvalidInput(f"{where}: role must be user or assistant")
        parent = _parent(m, index, where, seen)
        if m.get("id") is not None:
            if not is_id(m["id"]) or m["id"] in seen:
                raise InvalidInput(f"{where}.id: must be a number no other message has")
            seen[m["id"]] = index
        # No status is a finished message (a file written by hand); an unknown one is
        # shown as cut short rather than passed off as complete.
        status = m.get("status", "ok")
        if status not in _STATUSES[m["role"]]:
            status = "ok" if m["role"] == "user" else "interrupted"
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
            "created_at": _created_at(m.get("created_at"), f"{where}.created_at"),
            "images": _images(m.get("images"), f"{where}.images", max_image_bytes)
            if m["role"] == "user" else [],
            "parent": parent,
        })
    settings = body.get("settings") or {}
    return {
        "title": " ".join(_text(body.get("title") or "Imported conversation", "title",
                                200).split()),
        "system": _text(body.get("system"), "system", 100_000, optional=True) or None,
        "settings": validate_settings(settings) if settings else {},
        "messages": clean,
        "leaf": seen.get(body["leaf_id"]) if is_id(body.get("leaf_id")) else None,
    }
