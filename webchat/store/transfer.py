"""A stored conversation as the data of a file, and back again: every version of every
message with its pictures, so importing a JSON export gives the whole conversation.
(store/exports.py writes that data as Markdown or JSON and checks a file before an import.)"""

from __future__ import annotations

import json
import time
from typing import Any

from . import branches
from .conversations import Conversation
from .exports import FORMAT, export_images
from .manager import SessionManager
from .uploads import insert_upload

_KEYS = ("id", "parent_id", "role", "content", "thinking", "status", "error", "model",
         "endpoint", "stats", "request", "created_at")


def export_data(sessions: SessionManager, sid: str, cid: int,
                every_version: bool = True) -> dict[str, Any]:
    """With `every_version` (JSON) every message of the tree, oldest first, each naming
    its `parent_id`, and `leaf_id` the one in view; without (Markdown) the path in view,
    each message with its `versions`."""
    conversation = sessions.conversations.conversation(sid, cid)
    with sessions.db.reading() as conn:
        leaf = branches.leaf(conn, cid)
    found = sessions.history.all_messages(cid) if every_version else sessions.history.messages(cid)
    keys = _KEYS if every_version else (*_KEYS, "versions")
    messages = []
    for m in found:
        item = {key: value for key, value in m.to_json().items() if key in keys}
        images = [image for image in (sessions.uploads.upload(sid, i) for i in m.images) if image]
        if images:
            item["images"] = export_images(images)
        messages.append(item)
    return {
        "format": FORMAT,
        "title": conversation.title,
        "system": conversation.system,
        "settings": conversation.settings,
        "created_at": conversation.created_at,
        "leaf_id": leaf,
        "messages": messages,
    }


def import_data(sessions: SessionManager, sid: str, limit: int, title: str,
                system: str | None, settings: dict[str, Any], messages: list[dict[str, Any]],
                leaf: int | None = None) -> Conversation:
    """Store an already checked export (exports.check_import) as a new conversation.
    Each message's `parent`, and `leaf`, are positions in `messages`."""
    conversation = sessions.conversations.new_conversation(sid, limit, title, system, settings)
    now = time.time()
    new_ids: list[int] = []
    with sessions.db.transaction() as conn:
        for m in messages:
            upload_ids = [insert_upload(conn, sid, mime, data, now)
                          for mime, data in m.get("images") or []]
            cursor = conn.execute(
                "INSERT INTO messages (session_id, conversation_id, role, content, "
                "thinking, status, error, model, endpoint, stats, request, created_at, "
                "images, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, conversation.id, m["role"], m["content"], m.get("thinking") or "",
                 m["status"], m.get("error"), m.get("model"), m.get("endpoint"),
                 json.dumps(m["stats"]) if m.get("stats") else None,
                 json.dumps(m["request"]) if m.get("request") else None,
                 m.get("created_at") or now,
                 json.dumps(upload_ids) if upload_ids else None,
                 None if m.get("parent") is None else new_ids[m["parent"]]))
            new_ids.append(int(cursor.lastrowid or 0))
        if new_ids:
            branches.set_leaf(conn, conversation.id, new_ids[-1 if leaf is None else leaf])
    return conversation
