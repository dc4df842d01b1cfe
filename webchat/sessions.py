"""Per-browser chat histories, kept server-side in SQLite.

Follows the seed's SessionManager: a uuid4 per browser, a system prompt that `clear` and
trimming never touch, and a window of the last `max_history` user/assistant messages sent
to the model. Unlike the seed, trimming only narrows what is *sent*: older messages stay
stored and visible, marked as outside the window.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from .db import Database

# What may be sent to the model: answered or in-flight user messages, and replies that
# produced text (a partial reply counts: the model did say it).
_IN_CONTEXT = """(
    (role = 'user' AND status IN ('ok', 'pending'))
    OR (role = 'assistant' AND status != 'streaming' AND content != '')
)"""
_COLUMNS = ("id, role, content, thinking, status, error, model, endpoint, stats, request, "
            "created_at")


@dataclass
class Message:
    id: int
    role: str
    content: str
    thinking: str
    status: str
    error: str | None
    model: str | None
    endpoint: str | None
    stats: dict[str, Any] | None
    request: dict[str, Any] | None
    created_at: float
    in_context: bool = False

    @classmethod
    def from_row(cls, row: Any) -> Message:
        data = dict(row)
        for key in ("stats", "request"):
            data[key] = json.loads(data[key]) if data[key] else None
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SessionManager:
    def __init__(self, db: Database, max_history: int = 10) -> None:
        self.db = db
        self.max_history = max(0, max_history)

    # -- sessions -----------------------------------------------------------------

    def create(self, session_id: str | None = None) -> str:
        sid = session_id or str(uuid.uuid4())
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                         (sid, time.time()))
        return sid

    def system_prompt(self, sid: str) -> str | None:
        rows = self.db.query("SELECT system_prompt FROM sessions WHERE id = ?", (sid,))
        return rows[0]["system_prompt"] if rows else None

    def set_system(self, sid: str, text: str | None) -> None:
        """Set the system prompt; empty text removes it."""
        self.create(sid)
        with self.db.transaction() as conn:
            conn.execute("UPDATE sessions SET system_prompt = ? WHERE id = ?",
                         (text or None, sid))

    def clear(self, sid: str) -> int:
        """Forget the conversation but keep the system prompt, as the seed does."""
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM messages WHERE session_id = ?", (sid,)).rowcount

    # -- reading ------------------------------------------------------------------

    def context_window(self, sid: str) -> list[Message]:
        """The last `max_history` messages that may be sent; cost does not grow with
        the length of the history (index walk from the newest)."""
        if self.max_history == 0:
            return []
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? AND {_IN_CONTEXT} "
            "ORDER BY id DESC LIMIT ?", (sid, self.max_history))
        return [Message.from_row(row) for row in reversed(rows)]

    def messages(self, sid: str) -> list[Message]:
        """Everything stored for this browser, each marked inside or outside the window."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id", (sid,))
        window = {m.id for m in self.context_window(sid)}
        result = [Message.from_row(row) for row in rows]
        for message in result:
            message.in_context = message.id in window
        return result

    def get(self, sid: str, message_id: int) -> Message | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? AND id = ?",
                             (sid, message_id))
        return Message.from_row(rows[0]) if rows else None

    def last_message(self, sid: str) -> Message | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? "
                             "ORDER BY id DESC LIMIT 1", (sid,))
        return Message.from_row(rows[0]) if rows else None

    def models_used(self, sid: str) -> list[str]:
        rows = self.db.query("SELECT DISTINCT model FROM messages WHERE session_id = ? "
                             "AND role = 'assistant' AND model IS NOT NULL", (sid,))
        return [row["model"] for row in rows]

    # -- one exchange -------------------------------------------------------------

    def add_user(self, sid: str, text: str, model: str) -> int:
        self.create(sid)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages (session_id, role, content, status, model, created_at) "
                "VALUES (?, 'user', ?, 'pending', ?, ?)", (sid, text, model, time.time()))
            return int(cursor.lastrowid or 0)

    def retry_user(self, sid: str, message_id: int) -> bool:
        """Put a failed last message back in flight; anything else cannot be retried."""
        last = self.last_message(sid)
        if last is None or last.id != message_id or last.role != "user" \
                or last.status != "failed":
            return False
        with self.db.transaction() as conn:
            conn.execute("UPDATE messages SET status = 'pending', error = NULL WHERE id = ?",
                         (message_id,))
        return True

    def begin_reply(self, sid: str, model: str, endpoint: str,
                    request: dict[str, Any]) -> int:
        """Store the reply row before the first token, so a crash leaves a trace."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages (session_id, role, status, model, endpoint, request, "
                "created_at) VALUES (?, 'assistant', 'streaming', ?, ?, ?, ?)",
                (sid, model, endpoint, json.dumps(request), time.time()))
            return int(cursor.lastrowid or 0)

    def save_partial(self, reply_id: int, content: str, thinking: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE messages SET content = ?, thinking = ? WHERE id = ? "
                         "AND status = 'streaming'", (content, thinking, reply_id))

    def finish_reply(self, user_id: int, reply_id: int, content: str, thinking: str,
                     status: str, stats: dict[str, Any] | None, error: str | None) -> None:
        """Close an exchange. A reply that produced nothing is dropped and the user
        message marked failed, so it is never sent again as if it had been answered."""
        with self.db.transaction() as conn:
            if content or thinking:
                conn.execute(
                    "UPDATE messages SET content = ?, thinking = ?, status = ?, stats = ?, "
                    "error = ? WHERE id = ?",
                    (content, thinking, status, json.dumps(stats) if stats else None,
                     error, reply_id))
            else:
                conn.execute("DELETE FROM messages WHERE id = ?", (reply_id,))
            if content:
                conn.execute("UPDATE messages SET status = 'ok', error = NULL WHERE id = ?",
                             (user_id,))
            else:
                conn.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?",
                             (error or "No reply arrived", user_id))

    def recover_interrupted(self) -> None:
        """After a crash: replies caught mid-stream keep their text, marked as cut short."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM messages WHERE role = 'assistant' AND status = 'streaming' "
                         "AND content = '' AND thinking = ''")
            conn.execute("UPDATE messages SET status = 'interrupted', error = ? "
                         "WHERE role = 'assistant' AND status = 'streaming'",
                         ("The server stopped before this reply finished",))
            conn.execute(
                "UPDATE messages SET status = 'ok' WHERE role = 'user' AND status = 'pending' "
                "AND EXISTS (SELECT 1 FROM messages AS reply WHERE reply.session_id = "
                "messages.session_id AND reply.id > messages.id AND reply.role = 'assistant' "
                "AND reply.content != '')")
            conn.execute("UPDATE messages SET status = 'failed', error = ? "
                         "WHERE role = 'user' AND status = 'pending'",
                         ("The server stopped before a reply arrived",))
