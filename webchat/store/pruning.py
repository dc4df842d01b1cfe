"""Keeping the SQLite file from growing without bound: empty browsers are forgotten,
conversations deleted past their undo are purged, images are deleted with the messages
that carried them (the quotas themselves: store/quotas.py)."""

from __future__ import annotations

import threading
import time

from .conversations import UNDO_SECONDS
from .database import Database

EMPTY_SESSION_AGE = 86400.0  # a browser that stored nothing is forgotten after a day
PRUNE_EVERY = 600.0

# Any deletion of a message — clear, delete-last, the purge after the undo window, a
# conversation's cascade — drops the images only it referenced.
UPLOAD_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS uploads_follow_messages AFTER DELETE ON messages
WHEN OLD.images IS NOT NULL BEGIN
    DELETE FROM uploads WHERE session_id = OLD.session_id
        AND instr(OLD.images, uploads.id) > 0
        AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = OLD.session_id
                        AND m.images IS NOT NULL AND instr(m.images, uploads.id) > 0);
END;
"""


def install(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute(UPLOAD_TRIGGER)
        # imports cut short by a stop or a crash (files/transfer.py's IMPORTING)
        conn.execute("DELETE FROM conversations WHERE deleted_at < 0")


def purge_deleted(db: Database) -> int:
    """Forget every browser's conversations deleted longer than UNDO_SECONDS ago (also
    done, one browser at a time, by the write that makes a conversation)."""
    with db.transaction() as conn:
        return conn.execute("DELETE FROM conversations WHERE deleted_at >= 0 AND "
                            "deleted_at < ?", (time.time() - UNDO_SECONDS,)).rowcount


def prune_empty_sessions(db: Database, older_than: float = EMPTY_SESSION_AGE) -> int:
    """Delete browsers that never stored anything (no message, image, title, system
    prompt or settings): a client making cookies leaves no lasting rows."""
    cutoff = time.time() - older_than
    with db.transaction() as conn:
        return conn.execute(
            "DELETE FROM sessions WHERE created_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = sessions.id) "
            "AND NOT EXISTS (SELECT 1 FROM uploads AS u WHERE u.session_id = sessions.id) "
            "AND NOT EXISTS (SELECT 1 FROM conversations AS c WHERE "
            "c.session_id = sessions.id AND (c.title != '' OR c.system_prompt IS NOT NULL "
            "OR c.settings IS NOT NULL))", (cutoff,)).rowcount


class Pruner:
    """Runs the prunes at most every PRUNE_EVERY seconds, on the request that notices."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._last = 0.0

    def maybe_prune(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < PRUNE_EVERY:
                return
            self._last = now
        purge_deleted(self.db)
        prune_empty_sessions(self.db)

