"""Caps on request bodies, chunked ones included, so no body can fill the server's memory.

The largest legitimate body is an imported conversation (its pictures in base64); an
image upload is the next; every other route takes a small JSON object. Werkzeug applies
`request.max_content_length` to a declared `Content-Length` at once and to a chunked
stream as it is read (both servers set `wsgi.input_terminated`), answering 413.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

MAX_IMPORT_BYTES = 32 * 1024 * 1024  # an exported conversation: text and base64 pictures
SMALL_BODY_BYTES = 1024 * 1024  # any other JSON body (a system prompt is at most 32 KB)
READ_CHUNK = 64 * 1024


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_IMPORT_BYTES
    app.before_request(_cap_body)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def _cap_body() -> None:
    if request.path == "/api/conversations/import":
        limit = MAX_IMPORT_BYTES
    elif request.path == "/api/uploads":
        limit = current_app.config["MAX_IMAGE_BYTES"]
    else:
        limit = SMALL_BODY_BYTES
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()  # declared too long: refuse before any handler


def _too_large(exc: RequestEntityTooLarge) -> Any:
    limit = request.max_content_length or 0
    what = {"/api/conversations/import": "file", "/api/uploads": "image"}.get(
        request.path, "request body")
    size = f"{limit / 1048576:.1f} MB" if limit >= 1048576 else f"{limit / 1024:.0f} KB"
    response = jsonify(error=f"The {what} is too large: the limit is {size}.")
    return response, 413


def read_body() -> bytearray:
    """The whole body in one buffer (no second copy), within the route's cap."""
    buffer = bytearray()
    stream: Any = request.stream  # raises 413 once the cap is passed
    while chunk := stream.read(READ_CHUNK):
        buffer += chunk
    return buffer
