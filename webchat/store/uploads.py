"""Pictures a browser uploaded, kept as blobs until a message sends them.

Apart because an upload is the browser's, not a conversation's: it is stored when picked,
before any message names it, and one picked but never sent is forgotten after a day.
`insert_upload` is also how an imported conversation (webchat/files/transfer.py) stores its own.
`store_upload` checks the quotas (webchat/store/retention.py) in the transaction that writes.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import retention
from .database import Database
from .retention import Quotas

UNSENT_SECONDS = 86400.0  # a picture picked but never sent is forgotten after a day


def store_upload(db: Database, sid: str, mime: str, data: bytes, limits: Quotas) -> str:
    """Store one picked picture unless it passes a quota (QuotaExceeded): the check and
    the write are one transaction."""
    now = time.time()
    with db.transaction() as conn:
        # a browser's row is written when it first stores something
        conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                     (sid, now))
        conn.execute("DELETE FROM uploads WHERE session_id = ? AND created_at < ? AND NOT "
                     "EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = ? AND "
                     "m.images LIKE '%' || uploads.id || '%')",
                     (sid, now - UNSENT_SECONDS, sid))
        retention.check(conn, sid, limits, image_bytes=len(data))
        return insert_upload(conn, sid, mime, data, now)


def insert_upload(conn: Any, sid: str, mime: str, data: bytes, now: float) -> str:
    upload_id = uuid.uuid4().hex
    conn.execute("INSERT INTO uploads (id, session_id, mime, data, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", (upload_id, sid, mime, data, now))
    return upload_id


class Uploads:
    """The pictures part of `SessionManager` (webchat/store/manager.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_upload(self, sid: str, mime: str, data: bytes,
                   limits: Quotas | None = None) -> str:
        return store_upload(self.db, sid, mime, data, limits or Quotas.unlimited())

    def upload(self, sid: str, upload_id: str) -> tuple[str, bytes] | None:
        rows = self.db.query("SELECT mime, data FROM uploads WHERE id = ? AND session_id = ?",
                             (upload_id, sid))
        return (rows[0]["mime"], bytes(rows[0]["data"])) if rows else None
