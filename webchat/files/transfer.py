"""A stored conversation as the data of a file, and back again: every version of every
message with its pictures, so importing a JSON export gives the whole conversation.
(files/exports.py writes that data as Markdown or JSON and checks a file before an import.)

An import is written in transactions of about IMPORT_BATCH_BYTES, so other browsers'
writes (a chat's question, its reply) take the writer in between, before the next batch
(store/database.py's WriterTurns): in one transaction a 32 MB import held the writer
4–20 s (bench/search_load.py). Until its last transaction the conversation is hidden
(`deleted_at` IMPORTING): no list, search or count of what is shown sees half of it, and
one cut short by a crash is removed at the next start (store/retention.py). Every
transaction checks the browser's quotas (store/retention.py) for what it writes: a write of
the browser's that comes in between is counted, never passed over."""

from __future__ import annotations

import json
import time
from typing import Any

from ..store import branches, retention
from ..store.conversations import Conversation, check_conversation_limit
from ..store.manager import SessionManager
from ..store.retention import Quotas
from ..store.uploads import insert_upload
from .exports import FORMAT, export_images

IMPORTING = -1.0  # `deleted_at` of a conversation whose import is still being written
IMPORT_BATCH_BYTES = 64 * 1024  # about 10 ms of the writer's time per transaction

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
                leaf: int | None = None, limits: Quotas | None = None) -> Conversation:
    """Store an already checked export (exports.check_import) as a new conversation.
    Each message's `parent`, and `leaf`, are positions in `messages`. Raises
    ConversationLimit or quotas.QuotaExceeded before anything is shown."""
    limits = limits or Quotas.unlimited()
    rows = [_row(m) for m in messages]
    now = time.time()
    with sessions.db.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                     (sid, now))
        check_conversation_limit(conn, sid, limit)
        retention.check(conn, sid, limits, sum(size for size, _ in rows),
                     sum(_image_bytes(m) for m in messages))
        cid = int(conn.execute(
            "INSERT INTO conversations (session_id, title, system_prompt, settings, "
            "created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sid, title, system or None, json.dumps(settings) if settings else None,
             now, now, IMPORTING)).lastrowid or 0)
    try:
        new_ids: list[int] = []
        start = 0
        while start < len(messages):
            end, batch_bytes = start, 0
            while end < len(messages) and (end == start or batch_bytes < IMPORT_BATCH_BYTES):
                batch_bytes += rows[end][0] + _image_bytes(messages[end])
                end += 1
            _write_batch(sessions.db, sid, cid, messages[start:end], rows[start:end],
                         new_ids, limits, now)
            start = end
        with sessions.db.transaction() as conn:
            if new_ids:
                branches.set_leaf(conn, cid, new_ids[-1 if leaf is None else leaf])
            conn.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (cid,))
    except BaseException:
        with sessions.db.transaction() as conn:  # its messages and pictures go with it
            conn.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        raise
    return sessions.conversations.conversation(sid, cid)


def _write_batch(db: Any, sid: str, cid: int, messages: list[dict[str, Any]],
                 rows: list[tuple[int, tuple[Any, ...]]], new_ids: list[int], limits: Quotas,
                 now: float) -> None:
    """One transaction of an import; the quotas are checked for what it writes (what
    came before is in `stored_bytes` already)."""
    with db.transaction(bulk=True) as conn:
        retention.check(conn, sid, limits, sum(size for size, _ in rows),
                     sum(_image_bytes(m) for m in messages))
        for m, (_, values) in zip(messages, rows, strict=True):
            new_ids.append(_insert(conn, sid, cid, m, values, new_ids, now))


def _image_bytes(m: dict[str, Any]) -> int:
    return sum(len(data) for _, data in m.get("images") or [])


def _row(m: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    """What a message's row holds besides its ids, and its size as
    `sessions.stored_bytes` counts it (text, thinking and request, in UTF-8)."""
    request = json.dumps(m["request"]) if m.get("request") else None
    values = (m["role"], m["content"], m.get("thinking") or "", m["status"], m.get("error"),
              m.get("model"), m.get("endpoint"),
              json.dumps(m["stats"]) if m.get("stats") else None, request)
    size = sum(len(text.encode("utf-8", "surrogatepass"))
               for text in (m["content"], m.get("thinking") or "", request or ""))
    return size, values


def _insert(conn: Any, sid: str, cid: int, m: dict[str, Any], values: tuple[Any, ...],
            new_ids: list[int], now: float) -> int:
    upload_ids = [insert_upload(conn, sid, mime, data, now)
                  for mime, data in m.get("images") or []]
    cursor = conn.execute(
        "INSERT INTO messages (session_id, conversation_id, role, content, thinking, "
        "status, error, model, endpoint, stats, request, created_at, images, parent_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sid, cid, *values, m.get("created_at") or now,
         json.dumps(upload_ids) if upload_ids else None,
         None if m.get("parent") is None else new_ids[m["parent"]]))
    return int(cursor.lastrowid or 0)
