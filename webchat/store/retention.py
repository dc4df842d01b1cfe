"""What a browser may keep stored, and for how long.

Quotas (`Quotas`): what one browser, and the whole server, may keep stored, checked in the
same transaction as the write it allows.

A check made before the write, outside its transaction, let 16 concurrent 8 MB uploads
store 104 MB against a 64 MB quota: each saw the room the others were about to fill. Here
the check runs on the writer (store/database.py), so no other write comes between.

`sessions.stored_bytes` (kept by triggers, schema version 6) is the browser's total:
its messages' text, thinking and stored requests, and its images. Without it, five
imports made a 400 MB database in under a minute.

Pruning (`Pruner`): keeping the SQLite file from growing without bound: empty browsers
are forgotten, conversations deleted past their undo are purged, images are deleted with
the messages that carried them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

from .conversations import UNDO_SECONDS
from .database import Database


class QuotaExceeded(ValueError):
    """Storing this would pass a limit; the message names it (answered with a 413)."""


@dataclass(frozen=True)
class Quotas:
    stored_per_browser: int  # STORAGE_QUOTA_BYTES: text and images (0 = no limit)
    images_per_browser: int  # UPLOAD_QUOTA_BYTES
    images_total: int  # UPLOADS_TOTAL_BYTES: every browser's images together

    @classmethod
    def from_config(cls, config: Any) -> Quotas:
        return cls(config["STORAGE_QUOTA_BYTES"], config["UPLOAD_QUOTA_BYTES"],
                   config["UPLOADS_TOTAL_BYTES"])

    @classmethod
    def unlimited(cls) -> Quotas:
        return cls(0, 1 << 62, 1 << 62)


def readable_size(size: int) -> str:
    """A size as people read it: "0.0 MB" of a 5,000-byte limit said nothing."""
    if size < 1048576:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1048576:.1f} MB"


def stored_bytes(conn: sqlite3.Connection, sid: str) -> int:
    row = conn.execute("SELECT stored_bytes FROM sessions WHERE id = ?", (sid,)).fetchone()
    return int(row[0]) if row else 0


def check(conn: sqlite3.Connection, sid: str, quotas: Quotas, text_bytes: int = 0,
          image_bytes: int = 0) -> None:
    """Raise QuotaExceeded unless `text_bytes` more of messages and `image_bytes` more of
    images fit. Call it inside the transaction that then writes them."""
    if image_bytes:
        mine = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM uploads WHERE "
                            "session_id = ?", (sid,)).fetchone()[0]
        if mine + image_bytes > quotas.images_per_browser:
            raise QuotaExceeded(
                f"This browser already keeps {readable_size(mine)} of images; the limit is "
                f"{readable_size(quotas.images_per_browser)} (--upload-quota-bytes). Delete "
                f"conversations with pictures to make room.")
        everyone = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM uploads"
                                ).fetchone()[0]
        if everyone + image_bytes > quotas.images_total:
            raise QuotaExceeded("The server's storage for images is full "
                                f"({readable_size(quotas.images_total)}, --uploads-total-bytes); "
                                "try again later.")
    limit = quotas.stored_per_browser
    if limit > 0 and text_bytes + image_bytes > 0:
        stored = stored_bytes(conn, sid)
        if stored + text_bytes + image_bytes > limit:
            raise QuotaExceeded(
                f"This browser keeps {readable_size(stored)} of messages and images; storing "
                f"{readable_size(text_bytes + image_bytes)} more would pass its limit of "
                f"{readable_size(limit)} (--storage-quota-bytes). Delete conversations to make "
                f"room.")


# Pruning

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

