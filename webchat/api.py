"""The HTTP JSON endpoints. Errors are `{"error": ...}` with a status that fits."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, session
from werkzeug.exceptions import HTTPException

from .loaded import describe_loaded
from .ollama import OllamaError
from .services import Services
from .validation import InvalidInput, validate_model_name

bp = Blueprint("api", __name__, url_prefix="/api")


def _services() -> Services:
    return current_app.extensions["webchat"]


@bp.get("/models")
def models() -> Any:
    return {"models": _services().client.list_models()}


@bp.get("/loaded")
def loaded() -> Any:
    return {"models": [describe_loaded(m) for m in _services().client.list_loaded_models()]}


@bp.post("/unload")
def unload() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput('Send a JSON object such as {"model": "gemma3:270m"}')
    result = _services().unload(validate_model_name(body.get("model")))
    return {"unloaded": result["model"], "gone": result["unloaded"],
            "deferred": result["deferred"], "message": result["text"]}


@bp.get("/history")
def history() -> Any:
    services = _services()
    sid = session["sid"]
    return {
        "system": services.sessions.system_prompt(sid),
        "max_history": services.sessions.max_history,
        "generating": services.active.get(sid) is not None,
        "messages": [m.to_json() for m in services.sessions.messages(sid)],
    }


@bp.errorhandler(OllamaError)
def ollama_error(exc: OllamaError) -> Any:
    return jsonify(error=str(exc)), exc.status


@bp.errorhandler(InvalidInput)
def invalid_input(exc: InvalidInput) -> Any:
    return jsonify(error=str(exc)), 400


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    """Under /api/ even a routing 404 or 405 is JSON; pages keep Flask's HTML."""
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error=exc.description or exc.name), exc.code or 500
