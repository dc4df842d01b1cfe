"""Importing a conversation file: a few at a time, parsed holding the file as few times
as it can, and stored within the browser's quotas.

A 32 MB file was held three times over while it was parsed (the bytes, the text decoded
from them, the tree) and its pictures twice (base64 and decoded); four concurrent imports
took the server to 430 MB. Now the bytes go as soon as they are text, each picture's
base64 as soon as it is decoded (files/exports.py), and at most IMPORTS_PER_BROWSER,
IMPORTS_PER_ADDRESS and IMPORTS_TOTAL imports run at once; one more gets a 429 before its
body is read (bench/search_load.py has the figures).
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify, request, session

from ..files.exports import check_import
from ..files.transfer import import_data
from ..guard.bodies import MAX_IMPORT_BYTES, read_body
from ..guard.peers import client_address, peer_limits
from ..guard.safejson import DECODER, MAX_DEPTH, UnsafeJson, check_value
from ..guard.slots import Busy, Slots
from ..store.retention import QuotaExceeded, Quotas
from ..validation import InvalidInput
from .helpers import app_services

IMPORTS_PER_BROWSER = 1
IMPORTS_PER_ADDRESS = 2  # all its browsers together (loopback exempt, as for sockets)
IMPORTS_TOTAL = 4  # the whole server: about 70 MB of memory each at 32 MB


def import_slots() -> Slots:
    """The app's one import counter, made on first use."""
    return current_app.extensions.setdefault(
        "webchat_imports",
        Slots("imports", IMPORTS_PER_BROWSER, IMPORTS_PER_ADDRESS, IMPORTS_TOTAL))


def receive_import() -> Any:
    """POST /api/conversations/import: 201 and the new conversation, or why not."""
    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        return jsonify(error="The file is too large to import (32 MB at most)"), 413
    address = client_address()
    try:
        with import_slots().hold(session["sid"], address, peer_limits().exempt(address)):
            return _store(_parse(read_body()))
    except Busy as exc:
        return jsonify(error=str(exc)), 429
    except QuotaExceeded as exc:
        return jsonify(error=str(exc)), 413


def _parse(buffer: bytearray) -> Any:
    """The file's JSON, its bytes let go once they are text."""
    try:
        text = buffer.decode("utf-8-sig") if buffer else "null"
    except UnicodeDecodeError:
        raise InvalidInput("The file is not JSON exported by Ollama WebChat (not UTF-8)"
                           ) from None
    buffer.clear()  # the caller's reference is to this same buffer: freed now
    try:
        return parse_file(text)
    except RecursionError:
        raise UnsafeJson(f"JSON: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:
        raise InvalidInput("The file is not JSON exported by Ollama WebChat") from None


_SPACE = re.compile(r"[ \t\n\r]*")


def parse_file(text: str) -> Any:
    """JSON text, as guard/safejson.py's `parse` reads it, but a top-level object's
    values one at a time, and the items of its `messages` list one at a time.

    json.loads keeps the GIL, and so every other thread of the server, for the whole
    parse of a 32 MB file (0.2–0.5 s); between two messages the others get their turn."""
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        value, end = DECODER.raw_decode(text, pos)
        return _checked(value, text, end)
    body: dict[str, Any] = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return _checked(body, text, pos + 1)
    while True:
        key, pos = DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if not isinstance(key, str) or not text.startswith(":", pos):
            raise ValueError("an object's key must be text followed by ':'")
        pos = _skip(text, pos + 1)
        if key == "messages" and text.startswith("[", pos):
            body[key], pos = _items(text, pos)
        else:
            body[key], pos = DECODER.raw_decode(text, pos)
            check_value(body[key])
        pos = _skip(text, pos)
        if text.startswith("}", pos):
            check_value(list(body))  # the keys
            return _checked(body, text, pos + 1, checked=True)
        if not text.startswith(",", pos):
            raise ValueError("expected ',' or '}'")
        pos = _skip(text, pos + 1)


def _items(text: str, pos: int) -> tuple[list[Any], int]:
    """A list at `pos` (its '['), one item at a time; and where it ends."""
    items: list[Any] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        item, pos = DECODER.raw_decode(text, pos)
        check_value(item)
        items.append(item)
        pos = _skip(text, pos)
        if text.startswith("]", pos):
            return items, pos + 1
        if not text.startswith(",", pos):
            raise ValueError("expected ',' or ']'")
        pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _checked(value: Any, text: str, end: int, checked: bool = False) -> Any:
    if _skip(text, end) != len(text):
        raise ValueError("extra data after the JSON")
    if not checked:
        check_value(value)
    return value


def _store(body: Any) -> Any:
    services = app_services()
    checked = check_import(body, services.config["MAX_IMAGE_BYTES"])
    del body  # what is left of the tree: the checked messages share its strings
    conversation = import_data(services.sessions, session["sid"],
                               services.config["MAX_CONVERSATIONS"], **checked,
                               limits=Quotas.from_config(services.config))
    services.pruner.maybe_prune()  # a write: purge on a timer
    return conversation.to_json(), 201
