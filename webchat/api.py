"""The HTTP JSON endpoints. Errors are `{"error": ...}` with a status that fits."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, session
from werkzeug.exceptions import HTTPException

from .bodies import MAX_IMPORT_BYTES, read_body
from .conversations import ConversationLimit, ConversationNotFound
from .exports import check_import, content_disposition, to_markdown
from .ids import is_id, parse_id
from .modelinfo import describe_show
from .ollama_errors import OllamaError
from .ollama_hosts import Host, UnknownHost
from .roles import (
    ADMIN,
    FORBIDDEN,
    Forbidden,
    cap_keep_alive,
    may_manage_models,
    require_model_rights,
    role,
)
from .safejson import parse as parse_json
from .search import MAX_QUERY_CHARS, search_messages
from .services import Services
from .storage import upload_quota_problem
from .transfer import export_data, import_data
from .validation import (
    InvalidInput,
    field_of,
    sniff_image,
    validate_model_name,
    validate_settings,
)

bp = Blueprint("api", __name__, url_prefix="/api")


def _services() -> Services:
    return current_app.extensions["webchat"]


@bp.get("/models")
def models() -> Any:
    """Installed models, once per host that has each; with several hosts, `hosts` says
    which are up."""
    hosts = _services().hosts
    listed, answers = hosts.models()
    return {"models": listed, **({"hosts": hosts.summary(answers)} if hosts.several else {})}


@bp.get("/loaded")
def loaded() -> Any:
    return _services().loaded_state()


@bp.get("/hosts")
def hosts() -> Any:
    """Each Ollama host: URL, label, up, version, the error when down, what it holds."""
    return {"hosts": _services().hosts.status()}


def _host_arg(value: Any) -> Host | None:
    try:
        return _services().hosts.pick(value)
    except UnknownHost as exc:
        raise InvalidInput(str(exc)) from None


@bp.get("/show")
def show() -> Any:
    name = validate_model_name(request.args.get("model"))
    hosts = _services().hosts
    host = hosts.route(name, _host_arg(request.args.get("host")))
    return {**describe_show(name, host.client.show_model(name)), "host": host.label}


@bp.post("/unload")
def unload() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput('Send a JSON object such as {"model": "gemma3:270m"}')
    name = validate_model_name(body.get("model"))
    if not may_manage_models(role()) and _services().usage.others_using(session["sid"], name):
        raise Forbidden(f"Another browser is using {name}: only the admin may unload it "
                        f"now.")
    result = _services().unload(name, _host_arg(body.get("host")))
    return {"unloaded": result["model"], "gone": result["unloaded"],
            "deferred": result["deferred"], "was_loaded": result["was_loaded"],
            "message": result["text"], "host": result["host"], "hosts": result["hosts"]}


@bp.post("/load")
def load() -> Any:
    """Load a model now, before the first message (the page calls it on a pick)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput('Send a JSON object such as {"model": "gemma3:270m"}')
    name = validate_model_name(body.get("model"))
    services = _services()
    if services.config["NO_PRELOAD"]:
        return jsonify(error="Preloading is turned off on this server (--no-preload)"), 409
    keep_alive = None
    if body.get("conversation") is not None:
        sid = session["sid"]
        cid = services.sessions.resolve(sid, body["conversation"])
        keep_alive = services.sessions.conversation(sid, cid).settings.get("keep_alive")
    return services.preload(session["sid"], name, cap_keep_alive(keep_alive, role()),
                            _host_arg(body.get("host")))


@bp.delete("/models")
def delete_model() -> Any:
    require_model_rights(role())
    body = _json_object()
    name = validate_model_name(body.get("model"))
    services = _services()
    host = _host_arg(body.get("host"))
    if host is None:
        if services.hosts.several:
            raise InvalidInput("host: say which host to delete it from")
        host = services.hosts.primary
    if services.replying_with(name, host if services.hosts.several else None):
        raise InvalidInput(f"model: {name} is answering a message; stop it first")
    host.client.delete_model(name)
    host.forget()
    services.loaded_watch.poke()
    return {"deleted": name, **({"host": host.label} if services.hosts.several else {})}


@bp.get("/me")
def me() -> Any:
    """What this browser may do here, so the page can disable what it may not."""
    who = role()
    manage = may_manage_models(who)
    return {"role": who, "manage_models": manage, "reason": None if manage else FORBIDDEN,
            "max_keep_alive": None if who == ADMIN else
            _services().config.get("MAX_KEEP_ALIVE") or "30m"}


@bp.get("/pulls")
def pulls() -> Any:
    return {"pulls": _services().pulls.running()}


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object")
    return body


def _running_in(sid: str) -> int | None:
    reply = _services().active.get(sid)
    return reply.conversation_id if reply is not None and not reply.over else None


@bp.get("/history")
def history() -> Any:
    """One conversation (`?conversation=ID`; by default the most recent) and its state."""
    services = _services()
    sid = session["sid"]
    wanted = _conversation_arg()
    cid = services.sessions.latest(sid) if wanted is None else \
        services.sessions.resolve(sid, wanted)
    return _history(sid, cid) if cid is not None else _no_history(sid)


def _no_history(sid: str) -> dict[str, Any]:
    """A browser with no conversation yet: an empty chat, and nothing written (the
    first message, system prompt or settings saved creates the conversation)."""
    services = _services()
    running = _running_in(sid)
    return {
        "conversation": None,
        "title": "",
        "system": None,
        "settings": {},
        "max_history": services.sessions.max_history,
        "window_step": services.sessions.window_step,
        "generating": False,
        "generating_in": running,
        "messages": [],
    }


def _history(sid: str, cid: int) -> dict[str, Any]:
    services = _services()
    conversation = services.sessions.conversation(sid, cid)
    running = _running_in(sid)
    return {
        "conversation": cid,
        "title": conversation.title,
        "system": conversation.system,
        "settings": conversation.settings,
        "max_history": services.sessions.max_history,
        "window_step": services.sessions.window_step,
        "generating": running == cid,
        "generating_in": running,
        "messages": [m.to_json() for m in services.sessions.messages(cid, with_requests=False)],
    }


@bp.post("/conversations/<int:cid>/branch")
def switch_branch(cid: int) -> Any:
    """Show another version of a message: `{"message": id}` → the history now in view."""
    sid = session["sid"]
    services = _services()
    services.sessions.conversation(sid, cid)  # 404 unless it is this browser's
    message_id = _json_object().get("message")
    if not is_id(message_id):
        raise InvalidInput("message: must be the id of a message")
    if _running_in(sid) == cid:
        raise InvalidInput("A reply is being generated in this conversation: wait for it "
                           "or stop it first")
    services.sessions.switch(cid, message_id)
    return _history(sid, cid)


@bp.get("/conversations/<int:cid>/messages/<int:message_id>")
def message(cid: int, message_id: int) -> Any:
    """One message whole, with the exact request sent to Ollama (the prompt inspector)."""
    services = _services()
    services.sessions.conversation(session["sid"], cid)  # 404 unless it is this browser's
    found = services.sessions.get(cid, message_id)
    if found is None:
        return jsonify(error="No such message in this conversation"), 404
    return found.to_json()


@bp.get("/search")
def search() -> Any:
    """This browser's messages that hold every word of `?q=` (see webchat/search.py)."""
    text = request.args.get("q", "")[:MAX_QUERY_CHARS]
    return {"query": text,
            "hits": search_messages(_services().sessions.db, session["sid"], text)}


def _conversation_arg() -> int | None:
    raw = request.args.get("conversation")
    if raw is None or raw == "":
        return None
    cid = parse_id(raw)
    if cid is None:
        raise ConversationNotFound("conversation: must be the id of a conversation")
    return cid


# -- conversations ----------------------------------------------------------------------


@bp.get("/conversations")
def conversations() -> Any:
    services = _services()
    sid = session["sid"]
    running = _running_in(sid)
    items = services.sessions.conversations(sid)
    for item in items:
        item["generating"] = item["id"] == running
    return {"conversations": items, "limit": services.config["MAX_CONVERSATIONS"]}


def _conversation_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "title" in body:
        title = body["title"]
        if not isinstance(title, str) or len(title) > 200:
            raise InvalidInput("title: must be text of at most 200 characters")
        fields["title"] = " ".join(title.split())
    if "system" in body:
        system = body["system"]
        if system is not None and not isinstance(system, str):
            raise InvalidInput("system: must be text")
        limit = _services().config["MAX_MESSAGE_BYTES"]
        if system and len(system.encode("utf-8", "surrogatepass")) > limit:
            raise InvalidInput(f"system: the system prompt is longer than {limit:,} bytes")
        fields["system"] = (system or "").strip() or None
    if "settings" in body:
        fields["settings"] = validate_settings(body["settings"])
    return fields


@bp.post("/conversations")
def new_conversation() -> Any:
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object")
    fields = _conversation_fields(body)
    services = _services()
    conversation = services.sessions.new_conversation(
        session["sid"], services.config["MAX_CONVERSATIONS"], fields.get("title", ""),
        fields.get("system"), fields.get("settings"))
    return conversation.to_json(), 201


@bp.get("/conversations/<int:cid>")
def get_conversation(cid: int) -> Any:
    return _services().sessions.conversation(session["sid"], cid).to_json()


@bp.patch("/conversations/<int:cid>")
def update_conversation(cid: int) -> Any:
    fields = _conversation_fields(_json_object())
    return _services().sessions.update_conversation(session["sid"], cid, **fields).to_json()


@bp.delete("/conversations/<int:cid>")
def delete_conversation(cid: int) -> Any:
    services = _services()
    sid = session["sid"]
    services.sessions.conversation(sid, cid)
    if _running_in(sid) == cid:
        raise InvalidInput("A reply is being generated in this conversation: stop it first")
    services.sessions.delete_conversation(sid, cid)
    return {"deleted": cid, "undo_seconds": 600}


@bp.post("/conversations/<int:cid>/restore")
def restore_conversation(cid: int) -> Any:
    return _services().sessions.restore_conversation(session["sid"], cid).to_json()


@bp.get("/conversations/<int:cid>/export")
def export_conversation(cid: int) -> Any:
    kind = request.args.get("format", "json")
    data = export_data(_services().sessions, session["sid"], cid, every_version=kind != "md")
    if kind == "md":
        body, mime, suffix = to_markdown(data), "text/markdown; charset=utf-8", "md"
    elif kind == "json":
        data["exported_at"] = time.time()
        body = json.dumps(data, ensure_ascii=False, indent=2)
        mime, suffix = "application/json", "json"
    else:
        raise InvalidInput('format: must be "md" or "json"')
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": content_disposition(data["title"], suffix)})


@bp.post("/conversations/import")
def import_conversation() -> Any:
    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        return jsonify(error="The file is too large to import (32 MB at most)"), 413
    try:
        body = parse_json(read_body() or b"null")
    except ValueError:
        raise InvalidInput("The file is not JSON exported by Ollama WebChat") from None
    services = _services()
    checked = check_import(body, services.config["MAX_IMAGE_BYTES"])
    quota = _upload_quota(sum(len(raw) for m in checked["messages"]
                              for _, raw in m.get("images") or []))
    if quota:
        return jsonify(error=quota), 413
    conversation = import_data(
        services.sessions, session["sid"], services.config["MAX_CONVERSATIONS"], **checked)
    return conversation.to_json(), 201


# -- images -----------------------------------------------------------------------------


@bp.post("/uploads")
def upload() -> Any:
    """One image as the raw request body; the chat frame then names it by id."""
    services = _services()
    limit = services.config["MAX_IMAGE_BYTES"]
    size = request.content_length
    if size is None:
        raise InvalidInput("Send the image as the request body, with its length")
    if size > limit:
        return jsonify(error=f"The image is {size / 1048576:.1f} MB; the limit is "
                             f"{limit / 1048576:.1f} MB."), 413
    data = request.get_data(cache=False)
    mime = sniff_image(data)
    if mime is None:
        return jsonify(error="Only PNG, JPEG, WebP or GIF images can be attached."), 415
    quota = _upload_quota(len(data))
    if quota:
        return jsonify(error=quota), 413
    upload_id = services.sessions.add_upload(session["sid"], mime, data)
    return {"id": upload_id, "mime": mime, "size": len(data)}, 201


def _upload_quota(size: int) -> str | None:
    if not size:
        return None
    config = _services().config
    return upload_quota_problem(_services().sessions.db, session["sid"], size,
                                config["UPLOAD_QUOTA_BYTES"], config["UPLOADS_TOTAL_BYTES"])


@bp.get("/uploads/<upload_id>")
def uploaded(upload_id: str) -> Any:
    found = _services().sessions.upload(session["sid"], upload_id)
    if found is None:
        return jsonify(error="No such image in this browser"), 404
    mime, data = found
    return Response(data, mimetype=mime, headers={"Cache-Control": "private, max-age=86400"})


@bp.errorhandler(OllamaError)
def ollama_error(exc: OllamaError) -> Any:
    return jsonify(error=str(exc)), exc.status


@bp.errorhandler(Forbidden)
def forbidden(exc: Forbidden) -> Any:
    return jsonify(error=str(exc), code="forbidden"), 403


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
