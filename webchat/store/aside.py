"""Messages kept aside for Undo: an exchange deleted under the last reply, or a whole
conversation wiped by `/clear`.

They are moved, untouched (versions, statuses, images, ids), into a holding row of
`conversations` that names where they came from (`aside_of`) and is soft-deleted like a
deleted conversation (`deleted_at`). So every read that already skips a deleted
conversation skips them too — the context sent to the model, search, export, the
conversation list and its counts — without a clause of its own, and the same purge
(store/pruning.py, and the write that makes a conversation) forgets them after
UNDO_SECONDS. The holding row also keeps the leaf in view and, for `/clear`, the title,
so Undo puts back exactly what was there. A holding row is never listed, never counted
toward the conversation limit and never restored as a conversation of its own.
"""

from __future__ import annotations

import sqlite3
import time

from . import branches
from .conversations import UNDO_SECONDS, ConversationNotFound
from .database import Database


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
    """Putting back what `move_aside` kept (a part of `SessionManager`)."""

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
