"""Writing one exchange: a question, its reply as it streams, and how it ends.

Apart from reading because every write here keeps two promises the rest relies on: a
reply's row exists before its first token (a crash leaves a trace, `recover_interrupted`
closes it), and a question whose reply produced nothing is marked failed, so it is never
sent again as if answered. Edits and regenerations add versions (webchat/store/branches.py)
rather than overwrite.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import branches, retention
from .conversations import make_title, move_aside
from .database import Database
from .history import HistoryReader
from .retention import Quotas


class ExchangeWriter:
    """The writing part of `SessionManager` (webchat/store/manager.py); it reads the path
    in view (`history`) to know where a new message goes.

    A new or edited question is checked against the browser's stored-bytes quota
    (`quotas`, --storage-quota-bytes) in the transaction that writes it, as imports and
    pictures are: without it, chat alone could grow the file without bound (a 1 MiB
    message a second is 3.5 GB an hour). A reply is not checked: it answers a question
    that was let in, and num_predict bounds it."""

    def __init__(self, db: Database, history: HistoryReader,
                 quotas: Quotas | None = None) -> None:
        self.db = db
        self.history = history
        self.quotas = quotas or Quotas.unlimited()

    def add_user(self, sid: str, cid: int, text: str, model: str,
                 images: list[str] | None = None) -> int:
        now = time.time()
        with self.db.transaction() as conn:
            retention.check(conn, sid, self.quotas, text_bytes=len(text.encode("utf-8")))
            cursor = conn.execute(
                "INSERT INTO messages (session_id, conversation_id, role, content, status, "
                "model, images, created_at, parent_id) VALUES (?, ?, 'user', ?, 'pending', ?, "
                "?, ?, ?)", (sid, cid, text, model, json.dumps(images) if images else None,
                             now, branches.leaf(conn, cid)))
            conn.execute("UPDATE conversations SET updated_at = ?, title = CASE title WHEN "
                         "'' THEN ? ELSE title END WHERE id = ?", (now, make_title(text), cid))
            message_id = int(cursor.lastrowid or 0)
            branches.set_leaf(conn, cid, message_id)
            return message_id

    def retry_user(self, cid: int, message_id: int) -> bool:
        """Put a failed last message back in flight; anything else cannot be retried."""
        last = self.history.last_message(cid)
        if last is None or last.id != message_id or last.role != "user" \
                or last.status != "failed":
            return False
        with self.db.transaction() as conn:
            conn.execute("UPDATE messages SET status = 'pending', error = NULL WHERE id = ?",
                         (message_id,))
        return True

    def regenerate(self, cid: int) -> int:
        """Answer the last question in view again; returns the question's id. Its reply
        stays as an older version of the new one. Also works when the reply failed."""
        with self.db.transaction() as conn:
            users = [row for row in branches.path_rows(conn, cid, "id, role")
                     if row["role"] == "user"]
            if not users:
                raise ValueError("There is no reply to regenerate yet")
            user_id = int(users[-1]["id"])
            conn.execute("UPDATE messages SET status = 'pending', error = NULL WHERE id = ?",
                         (user_id,))
            branches.set_leaf(conn, cid, user_id)
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                         (time.time(), cid))
        return user_id

    def edit_user(self, cid: int, message_id: int, text: str) -> int:
        """Send a new version of one of your messages; returns its id. The old version
        and the replies under it are kept, as versions the page can switch back to."""
        message = self.history.get(cid, message_id)
        if message is None or message.role != "user":
            raise ValueError("id: only your own messages in this conversation can be edited")
        with self.db.transaction() as conn:
            sid = conn.execute("SELECT session_id FROM messages WHERE id = ?",
                               (message_id,)).fetchone()[0]
            retention.check(conn, sid, self.quotas, text_bytes=len(text.encode("utf-8")))
            now = time.time()
            cursor = conn.execute(
                "INSERT INTO messages (session_id, conversation_id, role, content, status, "
                "model, images, created_at, parent_id) SELECT session_id, conversation_id, "
                "'user', ?, 'pending', model, images, ?, parent_id FROM messages WHERE id = ?",
                (text, now, message_id))
            new_id = int(cursor.lastrowid or 0)
            branches.set_leaf(conn, cid, new_id)
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, cid))
        return new_id

    def delete_last_exchange(self, cid: int) -> tuple[list[int], int | None]:
        """Delete the last question in view and everything under it (every version of
        its reply): they are kept aside for Undo (`move_aside`,
        webchat/store/conversations.py). Returns the ids deleted and the Undo token (None
        when nothing was). Another version of that question, if any, comes into view."""
        with self.db.transaction() as conn:
            path = branches.path_rows(conn, cid, "id, role, parent_id")
            if not path:
                return [], None
            users = [row for row in path if row["role"] == "user"]
            first = users[-1] if users else path[0]
            ids = branches.subtree(conn, int(first["id"]))
            hold = move_aside(conn, cid, ids, "")
            branches.land_after_removal(conn, cid, first["parent_id"])
        return ids, hold

    def begin_reply(self, sid: str, cid: int, model: str, endpoint: str,
                    request: dict[str, Any]) -> int:
        """Store the reply row before the first token, so a crash leaves a trace. It goes
        under the message in view (the question: nothing else can change the path while
        this browser's reply runs)."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages (session_id, conversation_id, role, status, model, "
                "endpoint, request, created_at, parent_id) VALUES (?, ?, 'assistant', "
                "'streaming', ?, ?, ?, ?, ?)", (sid, cid, model, endpoint, json.dumps(request),
                                                time.time(), branches.leaf(conn, cid)))
            reply_id = int(cursor.lastrowid or 0)
            branches.set_leaf(conn, cid, reply_id)
            return reply_id

    def update_request(self, reply_id: int, request: dict[str, Any]) -> None:
        """The payload really sent, when it was sent again trimmed
        (webchat/relay/context_guard.py)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE messages SET request = ? WHERE id = ?",
                         (json.dumps(request), reply_id))

    def save_partial(self, reply_id: int, content: str, thinking: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE messages SET content = ?, thinking = ? WHERE id = ? "
                         "AND status = 'streaming'", (content, thinking, reply_id))

    def save_partials(self, rows: list[tuple[int, str, str]]) -> None:
        """`save_partial` for several replies, in one transaction."""
        with self.db.transaction() as conn:
            conn.executemany("UPDATE messages SET content = ?, thinking = ? WHERE id = ? "
                             "AND status = 'streaming'",
                             [(content, thinking, reply_id) for reply_id, content, thinking
                              in rows])

    def finish_reply(self, user_id: int, reply_id: int, content: str, thinking: str,
                     status: str, stats: dict[str, Any] | None, error: str | None) -> None:
        """Close an exchange. A reply that produced nothing is dropped and the user
        message marked failed, so it is never sent again as if it had been answered —
        unless an earlier version of the reply is there: that one comes back into view."""
        with self.db.transaction() as conn:
            found = conn.execute("SELECT conversation_id FROM messages WHERE id = ?",
                                 (user_id,)).fetchone()
            cid = found["conversation_id"] if found is not None else None
            answered = bool(content)
            if content or thinking:
                conn.execute(
                    "UPDATE messages SET content = ?, thinking = ?, status = ?, stats = ?, "
                    "error = ? WHERE id = ?",
                    (content, thinking, status, json.dumps(stats) if stats else None,
                     error, reply_id))
            else:
                conn.execute("DELETE FROM messages WHERE id = ?", (reply_id,))
                if cid is not None:
                    answered = bool(branches.siblings(conn, cid, user_id))
                    branches.land_after_removal(conn, cid, user_id)
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                         (time.time(), cid))
            if answered:
                conn.execute("UPDATE messages SET status = 'ok', error = NULL WHERE id = ?",
                             (user_id,))
            else:
                conn.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?",
                             (error or "No reply arrived", user_id))

    def recover_interrupted(self) -> None:
        """After a crash: replies caught mid-stream keep their text, marked as cut short."""
        with self.db.transaction() as conn:
            empty = ("SELECT id FROM messages WHERE role = 'assistant' AND status = "
                     "'streaming' AND content = '' AND thinking = ''")
            conn.execute("UPDATE conversations SET leaf_id = (SELECT parent_id FROM messages "
                         f"WHERE id = conversations.leaf_id) WHERE leaf_id IN ({empty})")
            conn.execute(f"DELETE FROM messages WHERE id IN ({empty})")
            conn.execute("UPDATE messages SET status = 'interrupted', error = ? "
                         "WHERE role = 'assistant' AND status = 'streaming'",
                         ("The server stopped before this reply finished",))
            conn.execute(
                "UPDATE messages SET status = 'ok' WHERE role = 'user' AND status = 'pending' "
                "AND EXISTS (SELECT 1 FROM messages AS reply WHERE reply.conversation_id = "
                "messages.conversation_id AND reply.parent_id = messages.id AND reply.role = "
                "'assistant' AND reply.content != '')")
            conn.execute("UPDATE messages SET status = 'failed', error = ? "
                         "WHERE role = 'user' AND status = 'pending'",
                         ("The server stopped before a reply arrived",))
