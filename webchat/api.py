"""The HTTP JSON endpoints under /api. Errors are `{"error": ...}` with a status that fits.

This blueprint holds the error handlers, which apply to the parts nested in it: models
(webchat/api_models.py), conversations (webchat/api_conversations.py) and pictures
(webchat/api_uploads.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from .api_conversations import conversations_bp
from .api_models import models_bp
from .api_uploads import uploads_bp
from .conversations import ConversationLimit, ConversationNotFound
from .limits import RateLimited
from .ollama_errors import OllamaError
from .roles import Forbidden
from .validation import InvalidInput, field_of

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(models_bp)
bp.register_blueprint(conversations_bp)
bp.register_blueprint(uploads_bp)


@bp.errorhandler(OllamaError)
def ollama_error(exc: OllamaError) -> Any:
    return jsonify(error=str(exc)), exc.status


@bp.errorhandler(Forbidden)
def forbidden(exc: Forbidden) -> Any:
    return jsonify(error=str(exc), code="forbidden"), 403


@bp.errorhandler(RateLimited)
def rate_limited(exc: RateLimited) -> Any:
    response = jsonify(error=str(exc), code="rate_limited",
                       retry_after=int(exc.retry_after) + 1)
    response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
    return response, 429


@bp.errorhandler(InvalidInput)
def invalid_input(exc: InvalidInput) -> Any:
    field = field_of(str(exc))
    extra: dict[str, Any] = {"field": field} if field else {}
    if exc.fields:  # every bad field of a form, each with its own message
        extra["fields"] = exc.fields
    return jsonify(error=str(exc), **extra), 400


@bp.errorhandler(ConversationNotFound)
def conversation_not_found(exc: ConversationNotFound) -> Any:
    return jsonify(error=str(exc)), 404


@bp.errorhandler(ConversationLimit)
def conversation_limit(exc: ConversationLimit) -> Any:
    return jsonify(error=str(exc)), 409


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    """Under /api/ even a routing 404 or 405 is JSON; pages keep Flask's HTML."""
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error=exc.description or exc.name), exc.code or 500
