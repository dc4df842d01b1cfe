"""Pictures a browser uploaded, kept as blobs until a message sends them.

Apart because an upload is the browser's, not a conversation's: it is stored when picked,
before any message names it, and one picked but never sent is forgotten after a day.
`insert_upload` is also how an imported conversation (webchat/store/transfer.py) stores its own.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .database import Database


def insert_upload(conn: Any, sid: str, mime: str, data: bytes, now: float) -> str:
    upload_id = uuid.uuid4().hex
    conn.execute("INSERT INTO uploads (id, session_id, mime, data, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", (upload_id, sid, mime, data, now))
    return upload_id


class Uploads:
    """The pictures part of `SessionManager` (webchat/store/manager.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_upload(self, sid: str, mime: str, data: bytes) -> str:
        self.db.add_session(sid)  # a browser's row is written when it first stores something
        with self.db.transaction() as conn:
            # Pictures picked but never sent are forgotten after a day.
            conn.execute("DELETE FROM uploads WHERE session_id = ? AND created_at < ? AND NOT "
                         "EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = ? AND "
                         "m.images LIKE '%' || uploads.id || '%')",
                         (sid, time.time() - 86400, sid))
            return insert_upload(conn, sid, mime, data, time.time())

    def upload(self, sid: str, upload_id: str) -> tuple[str, bytes] | None:
        rows = self.db.query("SELECT mime, data FROM uploads WHERE id = ? AND session_id = ?",
                             (upload_id, sid))
        return (rows[0]["mime"], bytes(rows[0]["data"])) if rows else None
