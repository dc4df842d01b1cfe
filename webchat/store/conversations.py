"""A browser's conversations: their rows, titles, system prompts and settings.

Kept apart from the messages in them because every request starts here: `resolve()`
turns the conversation id a browser sends into one of its own, refusing an id that
belongs to another browser exactly as it refuses one that never was. Deleting only hides
a conversation for UNDO_SECONDS, so the page can offer Undo; until it is gone for good it
still counts toward the browser's limit, and it is purged by the next write that counts
(or by store/retention.py), never by a read. (Counted only while visible, and purged only
when the list was read, `--max-conversations 5` let 100 through import-and-delete cycles.)
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any

from ..guard.ids import is_id
from . import branches
from .database import Database

_CONVERSATION_COLUMNS = "id, title, system_prompt, settings, created_at, updated_at"
TITLE_CHARS = 60
UNDO_SECONDS = 600.0  # a deleted conversation can be restored this long


class ConversationNotFound(LookupError):
    """No such conversation for this browser (another browser's counts as none)."""


class ConversationLimit(ValueError):
    """The browser already has as many conversations as the server allows."""


def make_title(text: str) -> str:
    """The first line of the first message, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]) + "…"


@dataclass
class Conversation:
    id: int
    title: str
    system: str | None
    settings: dict[str, Any]
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Any) -> Conversation:
        data = dict(row)
        return cls(id=data["id"], title=data["title"], system=data["system_prompt"],
                   settings=json.loads(data["settings"]) if data["settings"] else {},
                   created_at=data["created_at"], updated_at=data["updated_at"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_conversation_limit(conn: Any, sid: str, limit: int) -> None:
    """Inside the transaction that makes one: forget this browser's conversations deleted
    past their undo, then count the rest, those still restorable included."""
    cutoff = time.time() - UNDO_SECONDS
    conn.execute("DELETE FROM conversations WHERE session_id = ? AND deleted_at >= 0 "
                 "AND deleted_at < ?", (sid, cutoff))
    if limit <= 0:
        return
    shown, deleted = conn.execute(
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL OR deleted_at < 0), "
        "count(*) FILTER (WHERE deleted_at >= 0) FROM conversations "
        "WHERE session_id = ? AND aside_of IS NULL", (sid,)).fetchone()
    if shown + deleted >= limit:
        kept = (f" ({deleted} of them deleted, kept {UNDO_SECONDS / 60:.0f} minutes for "
                "Undo)" if deleted else "")
        raise ConversationLimit(
            f"This browser already has {shown + deleted} conversations{kept}, the most "
            f"this server allows ({limit}). Delete one to start another.")


class Conversations:
    """A browser's conversations, each with its system prompt and settings (a part of
    `SessionManager`, webchat/store/manager.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def conversations(self, sid: str) -> list[dict[str, Any]]:
        """This browser's conversations, the most recently active first."""
        rows = self.db.query(
            "SELECT c.id, c.title, c.created_at, c.updated_at, "
            "(SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id) AS messages "
            "FROM conversations AS c WHERE c.session_id = ? AND c.deleted_at IS NULL "
            "ORDER BY c.updated_at DESC, c.id DESC", (sid,))
        return [dict(row) for row in rows]

    def new_conversation(self, sid: str, limit: int, title: str = "",
                         system: str | None = None,
                         settings: dict[str, Any] | None = None) -> Conversation:
        self.db.add_session(sid)
        with self.db.transaction() as conn:
            check_conversation_limit(conn, sid, limit)
            now = time.time()
            cursor = conn.execute(
                "INSERT INTO conversations (session_id, title, system_prompt, settings, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sid, title, system or None, json.dumps(settings) if settings else None,
                 now, now))
            cid = int(cursor.lastrowid or 0)
        return self.conversation(sid, cid)

    def conversation(self, sid: str, cid: int) -> Conversation:
        if not is_id(cid):
            raise ConversationNotFound(f"There is no conversation {cid} in this browser.")
        rows = self.db.query(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ? "
                             "AND session_id = ? AND deleted_at IS NULL", (cid, sid))
        if not rows:
            raise ConversationNotFound(f"There is no conversation {cid} in this browser.")
        return Conversation.from_row(rows[0])

    def latest(self, sid: str) -> int | None:
        """The browser's most recently active conversation; None when it has none."""
        rows = self.db.query("SELECT id FROM conversations WHERE session_id = ? AND "
                             "deleted_at IS NULL ORDER BY updated_at DESC, id DESC LIMIT 1",
                             (sid,))
        return int(rows[0]["id"]) if rows else None

    def resolve(self, sid: str, cid: Any = None, limit: int = 0, create: bool = True) -> int:
        """The conversation a request means: the id it gives, checked against the
        browser, or (for clients that give none) the most recently active one. A browser
        with none gets one only when `create` (a write that stores something: a message,
        a system prompt); otherwise that is ConversationNotFound."""
        if cid is None:
            latest = self.latest(sid)
            if latest is not None:
                return latest
            if not create:
                raise ConversationNotFound("This browser has no conversation yet.")
            return self.new_conversation(sid, limit).id
        if isinstance(cid, bool) or not isinstance(cid, int):
            raise ConversationNotFound("conversation: must be the id of a conversation")
        return self.conversation(sid, cid).id

    def update_conversation(self, sid: str, cid: int, **changes: Any) -> Conversation:
        """Change `title`, `system` (None removes it) and/or `settings`."""
        self.conversation(sid, cid)
        columns = {"title": "title", "system": "system_prompt", "settings": "settings"}
        sets, params = [], []
        for key, value in changes.items():
            sets.append(f"{columns[key]} = ?")
            params.append(json.dumps(value) if key == "settings" else value)
        if sets:
            with self.db.transaction() as conn:
                conn.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ?",
                             (*params, cid))
        return self.conversation(sid, cid)

    def delete_conversation(self, sid: str, cid: int) -> None:
        """Hide it now; it is gone for good after UNDO_SECONDS unless restored."""
        self.conversation(sid, cid)
        with self.db.transaction() as conn:
            conn.execute("UPDATE conversations SET deleted_at = ? WHERE id = ?",
                         (time.time(), cid))

    def restore_conversation(self, sid: str, cid: int) -> Conversation:
        with self.db.transaction() as conn:
            restored = conn.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ? AND session_id = ? "
                "AND aside_of IS NULL AND deleted_at >= ?",
                (cid, sid, time.time() - UNDO_SECONDS)).rowcount
        if not restored:
            raise ConversationNotFound(f"Conversation {cid} cannot be restored any more.")
        return self.conversation(sid, cid)

    def system_prompt(self, cid: int) -> str | None:
        rows = self.db.query("SELECT system_prompt FROM conversations WHERE id = ?", (cid,))
        return rows[0]["system_prompt"] if rows else None

    def set_system(self, cid: int, text: str | None) -> None:
        """Set the system prompt; empty text removes it."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE conversations SET system_prompt = ? WHERE id = ?",
                         (text or None, cid))


# -- Messages kept aside for Undo: an exchange deleted under the last reply, or a whole
# conversation wiped by `/clear` (`Aside`, a part of `SessionManager`).
#
# They are moved, untouched (versions, statuses, images, ids), into a holding row of
# `conversations` that names where they came from (`aside_of`) and is soft-deleted like a
# deleted conversation (`deleted_at`). So every read that already skips a deleted
# conversation skips them too — the context sent to the model, search, export, the
# conversation list and its counts — without a clause of its own, and the same purge
# (store/retention.py, and the write that makes a conversation) forgets them after
# UNDO_SECONDS. The holding row also keeps the leaf in view and, for `/clear`, the title,
# so Undo puts back exactly what was there. A holding row is never listed, never counted
# toward the conversation limit and never restored as a conversation of its own.


class CannotRestore(LookupError):
    """The Undo came too late, or names nothing this browser put aside."""


def move_aside(conn: sqlite3.Connection, cid: int, ids: list[int], title: str) -> int:
    """Inside a transaction: move the messages `ids` of conversation `cid` into a new
    holding row, with the leaf in view now (and `title`, kept for `/clear`); returns the
    holding row's id (the Undo token)."""
    now = time.time()
    cursor = conn.execute(
        "INSERT INTO conversations (session_id, title, created_at, updated_at, deleted_at, "
        "leaf_id, aside_of) SELECT session_id, ?, ?, ?, ?, ?, id FROM conversations "
        "WHERE id = ?", (title, now, now, now, branches.leaf(conn, cid), cid))
    hold = int(cursor.lastrowid or 0)
    conn.executemany("UPDATE messages SET conversation_id = ? WHERE id = ?",
                     [(hold, message_id) for message_id in ids])
    return hold


class Aside:
    """Putting back what `move_aside` kept."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.undo_seconds = UNDO_SECONDS

    def clear(self, cid: int) -> tuple[int, int | None]:
        """`/clear`: every message aside (the system prompt stays, as the seed keeps it),
        and the title too, so the next first message names the conversation. Returns how
        many messages went, and the Undo token (None when there were none)."""
        with self.db.transaction() as conn:
            ids = [int(r["id"]) for r in conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))]
            if not ids:
                return 0, None
            title = conn.execute("SELECT title FROM conversations WHERE id = ?",
                                 (cid,)).fetchone()["title"]
            hold = move_aside(conn, cid, ids, title)
            branches.set_leaf(conn, cid, None)
            conn.execute("UPDATE conversations SET title = '' WHERE id = ?", (cid,))
        return len(ids), hold

    def origin(self, sid: str, hold: object) -> int:
        """The conversation a holding row came from, if this browser can still undo it."""
        if isinstance(hold, bool) or not isinstance(hold, int):
            raise CannotRestore("undo: must be the number a deleted or cleared frame gave")
        rows = self.db.query(
            "SELECT aside_of FROM conversations WHERE id = ? AND session_id = ? "
            "AND aside_of IS NOT NULL AND deleted_at >= ?",
            (hold, sid, time.time() - UNDO_SECONDS))
        if not rows:
            raise CannotRestore("This can no longer be undone (its undo window has passed).")
        return int(rows[0]["aside_of"])

    def restore(self, sid: str, hold: int) -> tuple[int, list[int]]:
        """Move the messages back where they were, with the leaf (and a cleared title);
        returns the conversation and the ids put back."""
        cid = self.origin(sid, hold)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT title, leaf_id FROM conversations WHERE id = ?",
                               (hold,)).fetchone()
            if row is None:
                raise CannotRestore("This can no longer be undone.")
            live = conn.execute("SELECT 1 FROM conversations WHERE id = ? AND "
                                "deleted_at IS NULL", (cid,)).fetchone()
            if live is None:
                raise ConversationNotFound(f"Conversation {cid} is deleted: restore it first.")
            ids = [int(r["id"]) for r in conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (hold,))]
            orphan = conn.execute(
                "SELECT 1 FROM messages AS m WHERE m.conversation_id = ? AND m.parent_id "
                "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages AS p WHERE p.id = "
                "m.parent_id AND p.conversation_id IN (?, ?))", (hold, hold, cid)).fetchone()
            if orphan is not None:
                raise CannotRestore("Undo the later deletion in this conversation first.")
            conn.execute("UPDATE messages SET conversation_id = ? WHERE conversation_id = ?",
                         (cid, hold))
            branches.set_leaf(conn, cid, row["leaf_id"])
            if row["title"]:
                conn.execute("UPDATE conversations SET title = ? WHERE id = ?",
                             (row["title"], cid))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                         (time.time(), cid))
            conn.execute("DELETE FROM conversations WHERE id = ?", (hold,))
        return cid, ids
