"""Keeping the SQLite file from growing without bound: empty browsers are forgotten,
images are kept within quotas and deleted with the messages that carried them."""

from __future__ import annotations

import threading
import time

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
    """Runs the prune at most every PRUNE_EVERY seconds, on the request that notices."""

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
        prune_empty_sessions(self.db)


def upload_quota_problem(db: Database, sid: str, size: int, per_browser: int,
                         total: int) -> str | None:
    """Why `size` more bytes of images may not be stored, or None."""
    mine = db.query("SELECT coalesce(sum(length(data)), 0) FROM uploads WHERE "
                    "session_id = ?", (sid,))[0][0]
    if mine + size > per_browser:
        return (f"This browser already keeps {mine / 1048576:.1f} MB of images; the limit "
                f"is {per_browser / 1048576:.1f} MB. Delete conversations with pictures "
                f"to make room.")
    everyone = db.query("SELECT coalesce(sum(length(data)), 0) FROM uploads")[0][0]
    if everyone + size > total:
        return "The server's storage for images is full; try again later."
    return None
