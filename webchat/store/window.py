"""Which stored messages are sent to the model: the context window, as a pure function.

Two rules, both for a real Ollama's sake (see shared/ollama-api.md):
- Whole exchanges. The window after the system prompt starts with a question. Gemma 3's
  template writes the system prompt into the user turn right after it and nowhere else,
  so a window opening on an answer loses the system prompt; other templates show an
  answer before its question. The window reaches back to the question of the oldest
  message it must hold, so it always carries at least the last `max_history` messages.
- A start that stays put ("steps", the default). Ollama keeps the KV cache of a model's
  last prompt and reads again only what follows the longest common prefix. A window
  sliding by one exchange a turn changes the prompt right after the system prompt, so
  every turn is read from there. Here the window may start only at an anchor, every
  `step // 2` exchanges counted from the conversation's first question, and it starts at
  the latest anchor that keeps the last `max_history` messages: the start stays still
  for several turns (the prompt only grows, and Ollama reads just the new part), then
  jumps forward in one step. A request holds at most `max_history + step` messages.
  "sliding" is the seed's window (made of whole exchanges).

The anchors depend only on the messages themselves, so the window is the same after a
restart, in the inspector, and for any list of messages (e.g. one branch of edits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

POLICIES = ("steps", "sliding")
DEFAULT_POLICY = "steps"


class StoredMessage(Protocol):
    role: str
    status: str
    content: str


def may_be_sent(message: StoredMessage) -> bool:
    """Answered or in-flight questions, and replies that produced text (a partial reply
    counts: the model did say it). The same rule as the SQL in store/manager.py."""
    if message.role == "user":
        return message.status in ("ok", "pending")
    return message.role == "assistant" and message.status != "streaming" \
        and message.content != ""


@dataclass
class WindowPlan:
    """What a request sends: `sent` indexes into the list given, oldest first, and a
    reason for every message, sent or not, as the inspector tells it. `anchors` are the
    questions the policy lets a window start at and hold still (all of them for
    "sliding"): where a window narrowed to fit the context (context_fit.py) starts."""

    sent: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)


def _unsent_reason(message: StoredMessage) -> str:
    if message.role == "user":
        return "Not sent: this message got no reply, so it is not part of the conversation"
    if message.role == "assistant" and message.status == "streaming":
        return "Not sent: the reply is still being written"
    if message.role == "assistant":
        return "Not sent: the reply is empty"
    return "Not sent: not a user or assistant message"


def plan_window(messages: Sequence[Any], max_history: int, step: int = 0,
                policy: str = DEFAULT_POLICY, exchanges_before: int = 0) -> WindowPlan:
    """The window for a request whose newest message is the last one of `messages`.

    `exchanges_before` is how many questions that may be sent come before `messages[0]`
    in the conversation, so a caller may pass only the tail of a long conversation and
    get the same anchors (store/manager.py does, to keep the cost flat)."""
    plan = WindowPlan(reasons=[""] * len(messages))
    usable = [i for i, m in enumerate(messages) if may_be_sent(m)]
    for i, message in enumerate(messages):
        if not may_be_sent(message):
            plan.reasons[i] = _unsent_reason(message)
    if max_history <= 0 or not usable:
        for i in usable:
            plan.reasons[i] = "Not sent: the server sends no history (--max-history 0)"
        return plan
    # Positions (in `usable`) of questions, each opening an exchange, and their ordinals.
    questions = [k for k, i in enumerate(usable) if messages[i].role == "user"]
    must = max(0, len(usable) - max_history)  # the oldest message that must be sent
    opening = [k for k in questions if k <= must]
    if opening:
        start = opening[-1]  # the question of the exchange that holds `must`
    else:  # only answers without their questions before it: start at the first question
        start = questions[0] if questions else len(usable)
    sliding_start = start
    per_anchor = max(1, step // 2) if policy == "steps" else 1
    every = [k for n, k in enumerate(questions) if (exchanges_before + n) % per_anchor == 0]
    plan.anchors = [usable[k] for k in every]
    if per_anchor > 1:
        anchors = [k for k in every if k <= sliding_start]
        if anchors:
            start = anchors[-1]
    kept = (f"the window's start stays put until it must move, so Ollama reuses its cache "
            f"of the prompt's start (it moves {per_anchor} exchanges at a time)")
    for k, i in enumerate(usable):
        if k < start:
            if k < sliding_start or start == sliding_start:
                plan.reasons[i] = (f"Not sent: older than the last {max_history} messages"
                                   if k < must else
                                   "Not sent: the question it answers is not in the window")
            continue
        plan.sent.append(i)
        if k >= must:
            plan.reasons[i] = f"Sent: one of the last {max_history} messages"
        elif k >= sliding_start:
            plan.reasons[i] = ("Sent: the question of the oldest exchange in the window "
                               "(a window starts with a question, never with an answer)")
        else:
            plan.reasons[i] = f"Sent: {kept}"
    return plan
