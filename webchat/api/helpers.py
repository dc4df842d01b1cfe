"""What the /api blueprints share: the app's services, a JSON body, the running reply.

Its own module so the parts of the API (webchat/api/blueprint.py puts them together) can use them
without importing each other.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from ..services import Services
from ..validation import InvalidInput


def app_services() -> Services:
    return current_app.extensions["webchat"]


def json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object")
    return body


def running_in(sid: str) -> int | None:
    """The conversation this browser's reply is running in, if one is."""
    reply = app_services().active.get(sid)
    return reply.conversation_id if reply is not None and not reply.over else None
