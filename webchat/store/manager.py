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

import uuid

from .conversations import Aside, Conversations
from .database import Database
from .exchanges import ExchangeWriter
from .history import HistoryReader
from .retention import Quotas
from .uploads import Uploads


class SessionManager:
    """Every browser's chats, one part per job, all on one database: its conversations
    (webchat/store/conversations.py), their history read (`history`,
    webchat/store/history.py) and written (`exchanges`, webchat/store/exchanges.py), and
    its pictures (`uploads`, webchat/store/uploads.py)."""

    def __init__(self, db: Database, max_history: int = 10, window_step: int = 0,
                 quotas: Quotas | None = None) -> None:
        self.db = db
        self.conversations = Conversations(db)
        self.history = HistoryReader(db, max_history, window_step)
        self.exchanges = ExchangeWriter(db, self.history, quotas)
        self.uploads = Uploads(db)
        self.aside = Aside(db)  # what delete-last and /clear keep for Undo

    @property
    def max_history(self) -> int:
        return self.history.max_history

    @property
    def window_step(self) -> int:
        return self.history.window_step

    def create(self, session_id: str | None = None) -> str:
        """The browser's row (a new uuid4 when none is given); creating it twice is fine."""
        sid = session_id or str(uuid.uuid4())
        self.db.add_session(sid)
        return sid

    def move(self, old: str, new: str) -> None:
        """Give everything of browser `old` to the new id `new` (its id was renewed when
        it was granted a role, webchat/guard/auth.py): conversations, messages and pictures
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
