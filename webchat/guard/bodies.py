"""Caps on request bodies, chunked ones included, so no body can fill the server's memory.

The largest legitimate body is an imported conversation (its pictures in base64); an
image upload is the next; every other route takes a small JSON object. Werkzeug applies
`request.max_content_length` to a declared `Content-Length` at once and to a chunked
stream as it is read (both servers set `wsgi.input_terminated`), answering 413.

A chunked body is read whole before the route runs: Werkzeug's `get_data()` stops
quietly at the cap, so a route parsing what it got answered 400 (the JSON was cut) or,
where a missing body is allowed, went on as if there were none (201). Read here, past
the cap is 413 on every route.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

MAX_IMPORT_BYTES = 32 * 1024 * 1024  # an exported conversation: text and base64 pictures
SMALL_BODY_BYTES = 1024 * 1024  # any other JSON body (a system prompt is at most 32 KB)
READ_CHUNK = 64 * 1024


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_IMPORT_BYTES
    app.config["BODY_LIMITS"] = body_limits(app.config["MAX_IMAGE_BYTES"])
    app.before_request(_cap_body)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def body_limits(image_limit: int) -> dict[str, int]:
    """The most bytes of body each route takes ("": every other route). Kept in the
    app's config as BODY_LIMITS, where the --production worker reads them too: it
    collects whole bodies before the app sees them (serve/slow_clients.py)."""
    return {"/api/conversations/import": MAX_IMPORT_BYTES, "/api/uploads": image_limit,
            "": SMALL_BODY_BYTES}


def _cap_body() -> None:
    limits = current_app.config["BODY_LIMITS"]
    limit = limits.get(request.path, limits[""])
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()  # declared too long: refuse before any handler
    if request.path != "/api/conversations/import" and "chunked" in request.headers.get(
            "Transfer-Encoding", "").lower():
        _read_ahead(limit)  # the import reads its own stream, as strictly (read_body)


def _read_ahead(limit: int) -> None:
    """Read a chunked body now, 413 past `limit`; the route then reads it from memory
    (`request.stream` is built from `wsgi.input` when first used, after this)."""
    stream = get_input_stream(request.environ, max_content_length=limit)
    buffer = bytearray()
    while chunk := stream.read(READ_CHUNK):  # raises 413 once the cap is passed
        buffer += chunk
    request.environ["wsgi.input"] = io.BytesIO(bytes(buffer))


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
