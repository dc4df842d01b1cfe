"""Headers on every response, and the same-origin rule for the socket and for writes.

The allowed origins are the app's own names (webchat/guard/own_names.py), never the request's own
`Host`, which a DNS-rebinding page controls.

flask-sock does not look at `Origin`: without this check any web page the user visits
could open `/ws` with the user's cookie and read their chats (cross-site WebSocket
hijacking), or POST an unload.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from .own_names import origin_allowed

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def init_app(app: Flask) -> None:
    app.before_request(_check_origin)
    app.after_request(_add_headers)


def _check_origin() -> Any:
    """Browsers always send `Origin` on WebSocket handshakes and on cross-site writes."""
    is_socket = request.path == "/ws"
    if not is_socket and request.method not in _WRITES:
        return None
    origin = request.headers.get("Origin")
    if origin is None:
        return None  # not a browser (curl, tests, scripts): no ambient cookie to abuse
    if origin_allowed(origin):
        return None
    return jsonify(error=f"Cross-origin request from {origin[:80]} refused"), 403


def _add_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
