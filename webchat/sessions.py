"""Per-browser chat histories, kept server-side in SQLite.

Follows the seed's SessionManager: a uuid4 per browser, a system prompt that `clear` and
trimming never touch, and a window of the last `max_history` user/assistant messages sent
to the model. Unlike the seed, trimming only narrows what is *sent*: older messages stay
stored and visible, marked as outside the window.

A browser has several conversations, each with its own system prompt and settings. Every
method that takes a conversation id from a browser goes through `resolve()`, which
refuses an id that belongs to another browser exactly as it refuses one that never was.
"""

from __future__ import annotations

import time
import uuid

from .conversations import Conversations
from .db import Database
from .exchanges import ExchangeWriter
from .uploads import Uploads


class SessionManager(Conversations, ExchangeWriter, Uploads):
    """Every browser's chats, put together from one part per job: the browser's row
    (here), its conversations (webchat/conversations.py), their history read
    (webchat/history.py) and written (webchat/exchanges.py), and its pictures
    (webchat/uploads.py)."""

    def __init__(self, db: Database, max_history: int = 10, window_step: int = 0) -> None:
        self.db = db
        self.max_history = max(0, max_history)
        self.window_step = max(0, window_step)

    def create(self, session_id: str | None = None) -> str:
        """The browser's row (a new uuid4 when none is given); creating it twice is fine."""
        sid = session_id or str(uuid.uuid4())
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                         (sid, time.time()))
        return sid

    def move(self, old: str, new: str) -> None:
        """Give everything of browser `old` to the new id `new` (its id was renewed when
        it was granted a role, webchat/auth.py): conversations, messages and pictures
        follow, and `old` is gone. Nothing to do for a browser that stored nothing."""
        with self.db.transaction() as conn:
            moved = conn.execute(
                "INSERT OR IGNORE INTO sessions (id, system_prompt, created_at) "
                "SELECT ?, system_prompt, created_at FROM sessions WHERE id = ?",
                (new, old)).rowcount
            if not moved:
                return
            for table in ("uploads", "conversations", "messages"):
                conn.execute(f"UPDATE {table} SET session_id = ? WHERE session_id = ?",
                             (new, old))
            conn.execute("DELETE FROM sessions WHERE id = ?", (old,))
