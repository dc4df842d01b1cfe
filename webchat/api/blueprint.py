"""The HTTP JSON endpoints under /api. Errors are `{"error": ...}` with a status that fits.

This blueprint holds the error handlers, which apply to the parts nested in it: models
(webchat/api/models.py), conversations (webchat/api/conversations.py) and pictures
(webchat/api/uploads.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from ..refusals import REFUSALS, details, http_status, refusal_for
from .conversations import conversations_bp
from .models import models_bp
from .uploads import uploads_bp

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(models_bp)
bp.register_blueprint(conversations_bp)
bp.register_blueprint(uploads_bp)


def refused(exc: Exception) -> Any:
    """Every exception of the table in webchat/refusals.py, as `{"error": ...}`."""
    refusal = refusal_for(exc)
    assert refusal is not None  # registered for the table's exceptions only
    body: dict[str, Any] = {"error": str(exc), **details(exc)}
    if refusal.code_in_json:
        body["code"] = refusal.code
    response = jsonify(body)
    if "retry_after" in body:
        response.headers["Retry-After"] = str(body["retry_after"])
    return response, http_status(exc, refusal)


for _kind in REFUSALS:
    bp.register_error_handler(_kind, refused)


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    """Under /api/ even a routing 404 or 405 is JSON; pages keep Flask's HTML."""
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error=exc.description or exc.name), exc.code or 500
