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

import json
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import branches
from .db import Database
from .ids import is_id
from .window import DEFAULT_POLICY, POLICIES, plan_window

# What may be sent to the model: answered or in-flight user messages, and replies that
# produced text (a partial reply counts: the model did say it).
_IN_CONTEXT = """(
    (role = 'user' AND status IN ('ok', 'pending'))
    OR (role = 'assistant' AND status != 'streaming' AND content != '')
)"""
_COLUMNS = ("id, role, content, thinking, status, error, model, endpoint, stats, request, "
            "created_at, images, parent_id")
_CONVERSATION_COLUMNS = "id, title, system_prompt, settings, created_at, updated_at"
TITLE_CHARS = 60
UNDO_SECONDS = 600.0  # a deleted conversation can be restored this long


class ConversationNotFound(LookupError):
    """No such conversation for this browser (another browser's counts as none)."""


class MessageNotFound(ConversationNotFound):
    """No such message in this conversation (answered like a missing conversation)."""


class ConversationLimit(ValueError):
    """The browser already has as many conversations as the server allows."""


def make_title(text: str) -> str:
    """The first line of the first message, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]) + "…"


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
    images: list[str] = field(default_factory=list)  # upload ids
    has_request: bool = False
    window_reason: str = ""  # why the next request sends it or not (the inspector says)
    parent_id: int | None = None  # the message it follows; siblings are its versions
    versions: dict[str, Any] | None = None  # {"index", "count", "ids"} when it has some

    @classmethod
    def from_row(cls, row: Any) -> Message:
        data = dict(row)
        for key in ("stats", "request"):
            data[key] = json.loads(data[key]) if data[key] else None
        data["images"] = json.loads(data["images"]) if data.get("images") else []
        data["has_request"] = bool(data.get("has_request", data["request"] is not None))
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """Shallow on purpose: a deep copy of every stored request made /api/history
        of 1,000 messages take 300 ms (bench/long_chat.py)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Conversation:
    id: int
    title: str
    system: str | None
    settings: dict[str, Any]
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Any) -> Conversation:
        data = dict(row)
        return cls(id=data["id"], title=data["title"], system=data["system_prompt"],
                   settings=json.loads(data["settings"]) if data["settings"] else {},
                   created_at=data["created_at"], updated_at=data["updated_at"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def insert_upload(conn: Any, sid: str, mime: str, data: bytes, now: float) -> str:
    upload_id = uuid.uuid4().hex
    conn.execute("INSERT INTO uploads (id, session_id, mime, data, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", (upload_id, sid, mime, data, now))
    return upload_id


@dataclass
class _NextQuestion:
    """Stands for the question not yet asked, so the marks show the next request."""

    role: str = "user"
    status: str = "pending"
    content: str = "?"


class SessionManager:
    def __init__(self, db: Database, max_history: int = 10, window_step: int = 0) -> None:
        self.db = db
        self.max_history = max(0, max_history)
        self.window_step = max(0, window_step)

    # -- sessions -----------------------------------------------------------------

    def create(self, session_id: str | None = None) -> str:
        sid = session_id or str(uuid.uuid4())
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                         (sid, time.time()))
        return sid

    # -- conversations ------------------------------------------------------------

    def conversations(self, sid: str) -> list[dict[str, Any]]:
        """This browser's conversations, the most recently active first."""
        with self.db.transaction() as conn:  # forget what was deleted past its undo
            conn.execute("DELETE FROM conversations WHERE session_id = ? AND deleted_at < ?",
                         (sid, time.time() - UNDO_SECONDS))
        rows = self.db.query(
            "SELECT c.id, c.title, c.created_at, c.updated_at, "
            "(SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id) AS messages "
            "FROM conversations AS c WHERE c.session_id = ? AND c.deleted_at IS NULL "
            "ORDER BY c.updated_at DESC, c.id DESC", (sid,))
        return [dict(row) for row in rows]

    def new_conversation(self, sid: str, limit: int, title: str = "",
                         system: str | None = None,
                         settings: dict[str, Any] | None = None) -> Conversation:
        self.create(sid)
        with self.db.transaction() as conn:
            count = conn.execute("SELECT count(*) FROM conversations WHERE session_id = ? "
                                 "AND deleted_at IS NULL", (sid,)).fetchone()[0]
            if limit > 0 and count >= limit:
                raise ConversationLimit(
                    f"This browser already has {count} conversations, the most this server "
                    f"allows ({limit}). Delete one to start another.")
            now = time.time()
            cursor = conn.execute(
                "INSERT INTO conversations (session_id, title, system_prompt, settings, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sid, title, system or None, json.dumps(settings) if settings else None,
                 now, now))
            cid = int(cursor.lastrowid or 0)
        return self.conversation(sid, cid)

    def conversation(self, sid: str, cid: int) -> Conversation:
        if not is_id(cid):
            raise ConversationNotFound(f"There is no conversation {cid} in this browser.")
        rows = self.db.query(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ? "
                             "AND session_id = ? AND deleted_at IS NULL", (cid, sid))
        if not rows:
            raise ConversationNotFound(f"There is no conversation {cid} in this browser.")
        return Conversation.from_row(rows[0])

    def resolve(self, sid: str, cid: Any = None, limit: int = 0) -> int:
        """The conversation a request means: the id it gives, checked against the
        browser, or (for clients that give none) the most recently active one."""
        if cid is None:
            rows = self.db.query("SELECT id FROM conversations WHERE session_id = ? AND "
                                 "deleted_at IS NULL ORDER BY updated_at DESC, id DESC LIMIT 1",
                                 (sid,))
            return int(rows[0]["id"]) if rows else self.new_conversation(sid, limit).id
        if isinstance(cid, bool) or not isinstance(cid, int):
            raise ConversationNotFound("conversation: must be the id of a conversation")
        return self.conversation(sid, cid).id

    def update_conversation(self, sid: str, cid: int, **changes: Any) -> Conversation:
        """Change `title`, `system` (None removes it) and/or `settings`."""
        self.conversation(sid, cid)
        columns = {"title": "title", "system": "system_prompt", "settings": "settings"}
        sets, params = [], []
        for key, value in changes.items():
            sets.append(f"{columns[key]} = ?")
            params.append(json.dumps(value) if key == "settings" else value)
        if sets:
            with self.db.transaction() as conn:
                conn.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ?",
                             (*params, cid))
        return self.conversation(sid, cid)

    def delete_conversation(self, sid: str, cid: int) -> None:
        """Hide it now; it is gone for good after UNDO_SECONDS unless restored."""
        self.conversation(sid, cid)
        with self.db.transaction() as conn:
            conn.execute("UPDATE conversations SET deleted_at = ? WHERE id = ?",
                         (time.time(), cid))

    def restore_conversation(self, sid: str, cid: int) -> Conversation:
        with self.db.transaction() as conn:
            restored = conn.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ? AND session_id = ? "
                "AND deleted_at IS NOT NULL", (cid, sid)).rowcount
        if not restored:
            raise ConversationNotFound(f"Conversation {cid} cannot be restored any more.")
        return self.conversation(sid, cid)

    def system_prompt(self, cid: int) -> str | None:
        rows = self.db.query("SELECT system_prompt FROM conversations WHERE id = ?", (cid,))
        return rows[0]["system_prompt"] if rows else None

    def set_system(self, cid: int, text: str | None) -> None:
        """Set the system prompt; empty text removes it."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE conversations SET system_prompt = ? WHERE id = ?",
                         (text or None, cid))

    def clear(self, cid: int) -> int:
        """Forget the conversation but keep the system prompt, as the seed does."""
        with self.db.transaction() as conn:
            branches.set_leaf(conn, cid, None)
            return conn.execute("DELETE FROM messages WHERE conversation_id = ?",
                                (cid,)).rowcount

    # -- reading ------------------------------------------------------------------

    def trim_policy(self, cid: int) -> str:
        """How this conversation's window moves: "steps" (default) or "sliding"."""
        rows = self.db.query("SELECT settings FROM conversations WHERE id = ?", (cid,))
        settings = json.loads(rows[0]["settings"]) if rows and rows[0]["settings"] else {}
        trim = settings.get("trim") if isinstance(settings, dict) else None
        return trim if trim in POLICIES else DEFAULT_POLICY

    def context_window(self, cid: int) -> list[Message]:
        """The messages the next request sends (webchat/window.py says which and why),
        from the path in view.

        Reads only the newest messages of the path, enough to hold any window (a walk
        up from the leaf that stops there), and counts the questions above them for the
        anchors."""
        if self.max_history == 0:
            return []
        limit = self.max_history + 2 * self.window_step + 4
        columns = _COLUMNS.replace("request,", "NULL AS request,")
        with self.db.reading() as conn:
            rows = branches.window_rows(conn, cid, columns, _IN_CONTEXT, limit)
            before = 0
            if len(rows) == limit:
                before = branches.count_above(conn, cid, int(rows[0]["id"]),
                                              f"role = 'user' AND {_IN_CONTEXT}")
        tail = [Message.from_row(row) for row in rows]
        plan = plan_window(tail, self.max_history, self.window_step, self.trim_policy(cid),
                           before)
        return [tail[i] for i in plan.sent]

    def messages(self, cid: int, with_requests: bool = True) -> list[Message]:
        """The path in view (the versions chosen), each message marked inside or outside
        the window of the next request, with the reason, and, when it has versions,
        with their ids.

        Without `with_requests` the payload sent for each reply (which repeats the whole
        context window, three quarters of a long history's bytes) is left out; the
        inspector fetches it when asked (`has_request` says there is one)."""
        columns = _COLUMNS if with_requests else _COLUMNS.replace(
            "request,", "NULL AS request, request IS NOT NULL AS has_request,")
        with self.db.reading() as conn:
            rows, versions = branches.path_with_versions(conn, cid, columns)
        result = [Message.from_row(row) for row in rows]
        for message in result:
            message.versions = versions.get(message.id)
        self.mark_window(cid, result)
        return result

    def mark_window(self, cid: int, messages: list[Message]) -> None:
        """Set `in_context` and `window_reason` as the next request will send them: with
        the question in flight, or else with one still to be asked."""
        waiting = [m for m in messages if m.role == "user" and m.status == "pending"]
        planned: list[Any] = list(messages) if waiting else [*messages, _NextQuestion()]
        plan = plan_window(planned, self.max_history, self.window_step, self.trim_policy(cid))
        sent = set(plan.sent)
        for index, message in enumerate(messages):
            message.in_context = index in sent
            message.window_reason = plan.reasons[index]

    def switch(self, cid: int, message_id: int) -> int:
        """Show version `message_id`: the path runs through it down to the newest message
        under it; a message already in view changes nothing. Returns the leaf."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                            (message_id, cid)).fetchone() is None:
                raise MessageNotFound(f"There is no message {message_id} in this conversation.")
            if branches.on_path(conn, cid, message_id):
                return branches.leaf(conn, cid) or message_id
            end = branches.newest_below(conn, message_id)
            branches.set_leaf(conn, cid, end)
        return end

    def get(self, cid: int, message_id: int) -> Message | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? "
                             "AND id = ?", (cid, message_id))
        return Message.from_row(rows[0]) if rows else None

    def last_message(self, cid: int) -> Message | None:
        """The last message of the path in view."""
        with self.db.reading() as conn:
            end = branches.leaf(conn, cid)
        return self.get(cid, end) if end is not None else None

    # -- one exchange -------------------------------------------------------------

    def add_user(self, sid: str, cid: int, text: str, model: str,
                 images: list[str] | None = None) -> int:
        now = time.time()
        with self.db.transaction() as conn:
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
        last = self.last_message(cid)
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
        message = self.get(cid, message_id)
        if message is None or message.role != "user":
            raise ValueError("id: only your own messages in this conversation can be edited")
        with self.db.transaction() as conn:
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

    def delete_last_exchange(self, cid: int) -> list[int]:
        """Delete the last question in view and everything under it (every version of
        its reply); returns the ids deleted. Another version of that question, if any,
        comes into view."""
        with self.db.transaction() as conn:
            path = branches.path_rows(conn, cid, "id, role, parent_id")
            if not path:
                return []
            users = [row for row in path if row["role"] == "user"]
            first = users[-1] if users else path[0]
            ids = branches.delete_subtree(conn, int(first["id"]))
            branches.land_after_removal(conn, cid, first["parent_id"])
        return ids

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

    def all_messages(self, cid: int) -> list[Message]:
        """Every message stored in the conversation, every version, oldest first."""
        return [Message.from_row(row) for row in self.db.query(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))]

    # -- images -------------------------------------------------------------------

    def add_upload(self, sid: str, mime: str, data: bytes) -> str:
        self.create(sid)  # a browser's row is written when it first stores something
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
