"""Reading a conversation: the `Message` record, the path in view, and the window.

Reading is apart from writing (webchat/store/exchanges.py) because the page, the inspector and
each new request read the same path in different ways: whole, without the stored
requests, or only the newest messages the next request sends (webchat/store/window.py says
which and why, webchat/store/branches.py which versions are in view).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from ..validation import MessageTooLong
from . import branches
from .context_fit import Budget
from .conversations import ConversationNotFound
from .database import Database
from .token_counts import fit_plan, model_key
from .window import DEFAULT_POLICY, POLICIES, WindowPlan, plan_window

# What may be sent to the model: answered or in-flight user messages, and replies that
# produced text (a partial reply counts: the model did say it).
_IN_CONTEXT = """(
    (role = 'user' AND status IN ('ok', 'pending'))
    OR (role = 'assistant' AND status != 'streaming' AND content != '')
)"""
_COLUMNS = ("id, role, content, thinking, status, error, model, endpoint, stats, request, "
            "created_at, images, parent_id")


class MessageNotFound(ConversationNotFound):
    """No such message in this conversation (answered like a missing conversation)."""


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
    tokens: int | None = None  # what it costs in the next request's prompt, when sent
    tokens_measured: bool = False  # counted by Ollama (else estimated)

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
class _NextQuestion:
    """Stands for the question not yet asked, so the marks show the next request."""

    role: str = "user"
    status: str = "pending"
    content: str = "?"


class HistoryReader:
    """The reading part of `SessionManager` (webchat/store/manager.py)."""

    def __init__(self, db: Database, max_history: int, window_step: int) -> None:
        self.db = db
        self.max_history = max(0, max_history)
        self.window_step = max(0, window_step)

    def trim_policy(self, cid: int) -> str:
        """How this conversation's window moves: "steps" (default) or "sliding"."""
        rows = self.db.query("SELECT settings FROM conversations WHERE id = ?", (cid,))
        settings = json.loads(rows[0]["settings"]) if rows and rows[0]["settings"] else {}
        trim = settings.get("trim") if isinstance(settings, dict) else None
        return trim if trim in POLICIES else DEFAULT_POLICY

    def _system_prompt(self, cid: int) -> str | None:
        """The conversation's system prompt (what the counts were measured with)."""
        rows = self.db.query("SELECT system_prompt FROM conversations WHERE id = ?", (cid,))
        return rows[0]["system_prompt"] if rows else None

    def context_window(self, cid: int) -> list[Message]:
        """The messages the next request sends by the count rule (webchat/store/window.py
        says which and why), from the path in view; `context_plan` gives the plan too."""
        tail, plan = self.context_plan(cid)
        return [tail[i] for i in plan.sent]

    def context_plan(self, cid: int) -> tuple[list[Message], WindowPlan]:
        """The newest messages of the path and the count rule's window among them.

        Reads only the newest messages of the path, enough to hold any window (a walk
        up from the leaf that stops there), and counts the questions above them for the
        anchors."""
        if self.max_history == 0:
            return [], WindowPlan()
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
        return tail, plan

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
        self._mark_tokens(cid, messages, planned, plan)

    def _mark_tokens(self, cid: int, messages: list[Message], planned: list[Any],
                     plan: WindowPlan) -> None:
        """Narrow the marks to what fits the context, as the last reply found it (its
        stats keep the context length and the room kept for the reply), and give each
        message sent its count in tokens."""
        last = next((m for m in reversed(messages) if m.role == "assistant"
                     and isinstance((m.stats or {}).get("context"), dict)), None)
        if last is None or not plan.sent:
            return
        stats = last.stats or {}
        context = stats["context"]
        try:
            budget = Budget(int(context["limit"]), str(context["source"]),
                            int(context["reserve"]))
            counted = fit_plan(self.db, cid, model_key(str(stats.get("model") or ""),
                                                       str(stats.get("endpoint") or "")),
                               self._system_prompt(cid), planned, plan, budget,
                               str(stats.get("model") or ""))
        except (KeyError, TypeError, ValueError, MessageTooLong):
            return  # stats from before tokens were counted, or only the next question
        for index in counted.fit.dropped:
            if index < len(messages):
                messages[index].in_context = False
                messages[index].tokens = counted.tokens[index]
                messages[index].tokens_measured = counted.measured[index]
                messages[index].window_reason = (
                    f"Not sent: the context ({budget.limit:,} tokens, {budget.source}) holds "
                    f"only the newer messages, with {budget.reserve:,} kept for the reply")
        for index in counted.fit.sent:
            if index < len(messages):
                messages[index].tokens = counted.tokens[index]
                messages[index].tokens_measured = counted.measured[index]

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

    def all_messages(self, cid: int) -> list[Message]:
        """Every message stored in the conversation, every version, oldest first."""
        return [Message.from_row(row) for row in self.db.query(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))]
