"""Importing a conversation file: a few at a time, parsed holding the file as few times
as it can, and stored within the browser's quotas.

A 32 MB file was held three times over while it was parsed (the bytes, the text decoded
from them, the tree) and its pictures twice (base64 and decoded); four concurrent imports
took the server to 430 MB. Now the bytes go as soon as they are text, each picture's
base64 as soon as it is decoded (store/exports.py), and at most IMPORTS_PER_BROWSER,
IMPORTS_PER_ADDRESS and IMPORTS_TOTAL imports run at once; one more gets a 429 before its
body is read (bench/search_load.py has the figures).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, session

from ..guard.bodies import MAX_IMPORT_BYTES, read_body
from ..guard.peers import client_address, peer_limits
from ..guard.safejson import parse as parse_json
from ..guard.slots import Busy, Slots
from ..store.exports import check_import
from ..store.quotas import QuotaExceeded, Quotas
from ..store.transfer import import_data
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
        return parse_json(text)
    except ValueError:
        raise InvalidInput("The file is not JSON exported by Ollama WebChat") from None


def _store(body: Any) -> Any:
    services = app_services()
    checked = check_import(body, services.config["MAX_IMAGE_BYTES"])
    del body  # what is left of the tree: the checked messages share its strings
    conversation = import_data(services.sessions, session["sid"],
                               services.config["MAX_CONVERSATIONS"], **checked,
                               limits=Quotas.from_config(services.config))
    current_app.extensions["webchat_pruner"].maybe_prune()  # a write: purge on a timer
    return conversation.to_json(), 201
