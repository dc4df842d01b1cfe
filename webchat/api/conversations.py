"""/api's conversation endpoints: the history in view, versions, the prompt inspector,
search, and conversations listed, made, changed, deleted, restored, exported, imported.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, session

from ..files.exports import content_disposition, to_markdown
from ..files.transfer import export_data
from ..guard.ids import is_id, parse_id
from ..store.conversations import ConversationNotFound
from ..store.search import MAX_QUERY_CHARS
from ..store.search import search as search_store
from ..validation import InvalidInput, validate_settings
from .helpers import app_services, json_object, running_in
from .imports import receive_import

conversations_bp = Blueprint("conversations", __name__)


@conversations_bp.get("/history")
def history() -> Any:
    """One conversation (`?conversation=ID`; by default the most recent) and its state."""
    services = app_services()
    sid = session["sid"]
    wanted = _conversation_arg()
    cid = services.sessions.conversations.latest(sid) if wanted is None else \
        services.sessions.conversations.resolve(sid, wanted)
    return _history(sid, cid) if cid is not None else _no_history(sid)


def _no_history(sid: str) -> dict[str, Any]:
    """A browser with no conversation yet: an empty chat, and nothing written (the
    first message, system prompt or settings saved creates the conversation)."""
    services = app_services()
    running = running_in(sid)
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
    services = app_services()
    conversation = services.sessions.conversations.conversation(sid, cid)
    running = running_in(sid)
    return {
        "conversation": cid,
        "title": conversation.title,
        "system": conversation.system,
        "settings": conversation.settings,
        "max_history": services.sessions.max_history,
        "window_step": services.sessions.window_step,
        "generating": running == cid,
        "generating_in": running,
        "messages": [m.to_json() for m in
                     services.sessions.history.messages(cid, with_requests=False)],
    }


@conversations_bp.post("/conversations/<int:cid>/branch")
def switch_branch(cid: int) -> Any:
    """Show another version of a message: `{"message": id}` → the history now in view."""
    sid = session["sid"]
    services = app_services()
    services.sessions.conversations.conversation(sid, cid)  # 404 unless it is this browser's
    message_id = json_object().get("message")
    if not is_id(message_id):
        raise InvalidInput("message: must be the id of a message")
    if running_in(sid) == cid:
        raise InvalidInput("A reply is being generated in this conversation: wait for it "
                           "or stop it first")
    services.sessions.history.switch(cid, message_id)
    return _history(sid, cid)


@conversations_bp.get("/conversations/<int:cid>/messages/<int:message_id>")
def message(cid: int, message_id: int) -> Any:
    """One message whole, with the exact request sent to Ollama (the prompt inspector)."""
    services = app_services()
    # 404 unless it is this browser's
    services.sessions.conversations.conversation(session["sid"], cid)
    found = services.sessions.history.get(cid, message_id)
    if found is None:
        return jsonify(error="No such message in this conversation"), 404
    return found.to_json()


@conversations_bp.get("/search")
def search() -> Any:
    """This browser's messages that hold every word of `?q=` (see webchat/store/search.py);
    `cut` is true when the search's bounded work left matches out."""
    text = request.args.get("q", "")[:MAX_QUERY_CHARS]
    found = search_store(app_services().sessions.db, session["sid"], text)
    return {"query": text, "hits": found.hits, "cut": found.cut}


def _conversation_arg() -> int | None:
    raw = request.args.get("conversation")
    if raw is None or raw == "":
        return None
    cid = parse_id(raw)
    if cid is None:
        raise ConversationNotFound("conversation: must be the id of a conversation")
    return cid


@conversations_bp.get("/conversations")
def conversations() -> Any:
    services = app_services()
    sid = session["sid"]
    running = running_in(sid)
    items = services.sessions.conversations.conversations(sid)
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
        limit = app_services().config["MAX_MESSAGE_BYTES"]
        if system and len(system.encode("utf-8", "surrogatepass")) > limit:
            raise InvalidInput(f"system: the system prompt is longer than {limit:,} bytes")
        fields["system"] = (system or "").strip() or None
    if "settings" in body:
        fields["settings"] = validate_settings(body["settings"])
    return fields


@conversations_bp.post("/conversations")
def new_conversation() -> Any:
    fields = _conversation_fields(json_object(empty_ok=True))
    services = app_services()
    conversation = services.sessions.conversations.new_conversation(
        session["sid"], services.config["MAX_CONVERSATIONS"], fields.get("title", ""),
        fields.get("system"), fields.get("settings"))
    _tell(services, "created", conversation.id, conversation.title)
    return conversation.to_json(), 201


def _tell(services: Any, change: str, cid: int, title: str | None = None,
          **extra: Any) -> None:
    """Every tab of this browser hears of a change to its conversation list (the tab that
    asked too: it cannot be told apart over HTTP, and a redraw is harmless)."""
    frame = {"type": "conversations", "change": change, "conversation": cid, **extra}
    if title is not None:
        frame["title"] = title
    services.tell_tabs(session["sid"], frame)


@conversations_bp.post("/settings/check")
def check_settings() -> Any:
    """A new chat's settings checked, nothing stored (it has no row until its first
    message): the settings as they would be saved, or the 400 a PATCH would give."""
    return {"settings": validate_settings(json_object().get("settings"))}


@conversations_bp.get("/conversations/<int:cid>")
def get_conversation(cid: int) -> Any:
    return app_services().sessions.conversations.conversation(session["sid"], cid).to_json()


@conversations_bp.patch("/conversations/<int:cid>")
def update_conversation(cid: int) -> Any:
    fields = _conversation_fields(json_object())
    services = app_services()
    updated = services.sessions.conversations.update_conversation(session["sid"], cid, **fields)
    if "title" in fields:
        _tell(services, "renamed", cid, updated.title)
    return updated.to_json()


@conversations_bp.delete("/conversations/<int:cid>")
def delete_conversation(cid: int) -> Any:
    services = app_services()
    sid = session["sid"]
    services.sessions.conversations.conversation(sid, cid)
    if running_in(sid) == cid:
        raise InvalidInput("A reply is being generated in this conversation: stop it first")
    services.sessions.conversations.delete_conversation(sid, cid)
    _tell(services, "deleted", cid, undo_seconds=600)
    return {"deleted": cid, "undo_seconds": 600}


@conversations_bp.post("/conversations/<int:cid>/restore")
def restore_conversation(cid: int) -> Any:
    services = app_services()
    restored = services.sessions.conversations.restore_conversation(session["sid"], cid)
    _tell(services, "restored", cid, restored.title)
    return restored.to_json()


@conversations_bp.get("/conversations/<int:cid>/export")
def export_conversation(cid: int) -> Any:
    kind = request.args.get("format", "json")
    data = export_data(app_services().sessions, session["sid"], cid, every_version=kind != "md")
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


@conversations_bp.post("/conversations/import")
def import_conversation() -> Any:
    answer = receive_import()  # webchat/api/imports.py
    if isinstance(answer, tuple) and answer[1] == 201 and isinstance(answer[0], dict):
        _tell(app_services(), "created", answer[0]["id"], answer[0].get("title", ""))
    return answer
