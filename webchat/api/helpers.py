"""What the /api blueprints share: the app's services, a JSON body, the running reply.

Its own module so the parts of the API (webchat/api/blueprint.py puts them together) can use them
without importing each other.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from ..guard.bodies import read_body
from ..guard.safejson import parse as parse_json
from ..services import Services
from ..validation import InvalidInput


def app_services() -> Services:
    return current_app.extensions["webchat"]


def json_object(example: str = "", empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object, or a 400. Malformed JSON is refused, never read as no
    body (`get_json(silent=True)` gives None for both); `empty_ok`: no body at all
    means `{}`. Past the route's cap it is 413 (webchat/guard/bodies.py)."""
    data = read_body()
    if empty_ok and not data.strip():
        return {}
    if not request.is_json:
        raise InvalidInput(f"Send a JSON object{example} as application/json")
    try:
        body = parse_json(bytes(data))
    except ValueError:
        raise InvalidInput(f"The body is not valid JSON: send a JSON object{example}") \
            from None
    if not isinstance(body, dict):
        raise InvalidInput(f"Send a JSON object{example}")
    return body


def running_in(sid: str) -> int | None:
    """The conversation this browser's reply is running in, if one is."""
    reply = app_services().active.get(sid)
    return reply.conversation_id if reply is not None and not reply.over else None
