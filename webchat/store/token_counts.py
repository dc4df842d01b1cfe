"""What each stored message costs in a prompt, in tokens, per model: read and learned.

The tables are schema version 6 (webchat/store/database.py). A count is learned from a reply's
`prompt_eval_count` (webchat/store/context_fit.py `split_measured`), so it is exact for the
model and endpoint it was measured with; a message not yet read by a model is estimated
from the characters per token measured for it. Chat and the seed's flattened
`/api/generate` prompt render differently, so each endpoint counts apart (`model_key`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .context_fit import (
    BASE_FRAMING_TOKENS,
    FRAMING_TOKENS,
    Budget,
    Fit,
    chars_per_token,
    estimate_reply,
    estimate_tokens,
    fit_window,
    split_measured,
)
from .database import Database
from .window import WindowPlan

RATE_WINDOW = 200_000  # tokens of measurements kept in a model's rate (older ones fade)


def model_key(model: str, endpoint: str) -> str:
    return model if endpoint != "generate" else f"{model} (generate)"


@dataclass
class TokenView:
    """A window's parts in tokens: `base` (system prompt and template) and one count per
    message given, each with whether Ollama measured it (else it is an estimate)."""

    base: int
    base_measured: bool
    tokens: list[int]
    measured: list[bool]
    rate: float

    def total(self, indexes: Sequence[int]) -> int:
        return self.base + sum(self.tokens[i] for i in indexes)

    def all_measured(self, indexes: Sequence[int]) -> bool:
        return self.base_measured and all(self.measured[i] for i in indexes)


def _rate(conn: Any, key: str) -> float:
    row = conn.execute("SELECT chars, tokens FROM token_rates WHERE model = ?",
                       (key,)).fetchone()
    return chars_per_token(row["chars"], row["tokens"]) if row else chars_per_token(0, 0)


def _estimate(message: Any, rate: float) -> int:
    if message.role == "assistant":
        stats = getattr(message, "stats", None) or {}
        return estimate_reply(message.content, rate, stats.get("eval_count"))
    return estimate_tokens(message.content, rate, len(getattr(message, "images", []) or []))


def base_estimate(system: str | None, rate: float) -> int:
    return math.ceil(len(system or "") / rate) + BASE_FRAMING_TOKENS


def read_view(db: Database, cid: int, key: str, system: str | None,
              messages: Sequence[Any]) -> TokenView:
    """The counts Ollama measured for these messages with `key`, estimates for the rest."""
    ids = [m.id for m in messages if isinstance(getattr(m, "id", None), int)]
    with db.reading() as conn:
        rate = _rate(conn, key)
        found: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update((int(r["message_id"]), int(r["tokens"])) for r in conn.execute(
                f"SELECT message_id, tokens FROM message_tokens WHERE model = ? AND "
                f"message_id IN ({marks})", (key, *chunk)))
        row = conn.execute("SELECT system_prompt, tokens FROM prompt_tokens WHERE "
                           "conversation_id = ? AND model = ?", (cid, key)).fetchone()
    base_known = row is not None and row["system_prompt"] == (system or "")
    tokens, measured = [], []
    for message in messages:
        count = found.get(getattr(message, "id", None))  # type: ignore[arg-type]
        measured.append(count is not None)
        tokens.append(count if count is not None else _estimate(message, rate))
    base = int(row["tokens"]) if base_known else base_estimate(system, rate)
    return TokenView(base, base_known, tokens, measured, rate)


def learn(db: Database, cid: int, key: str, system: str | None, sent: Sequence[Any],
          prompt_tokens: int) -> None:
    """Store what a reply's `prompt_eval_count` says about the prompt it answered: the
    window `sent` (the stored messages, oldest first) after `system`."""
    if prompt_tokens <= 0 or not sent:
        return
    view = read_view(db, cid, key, system, sent)
    counts = [t if m else None for t, m in zip(view.tokens, view.measured, strict=True)]
    base, shares = split_measured(prompt_tokens, view.base if view.base_measured else None,
                                  view.base, counts, view.tokens)
    if base < 0 or any(s < 0 for s in shares):
        return  # a template that changed under us: keep what was known
    unknown = [k for k, m in enumerate(view.measured) if not m]
    chars = sum(len(sent[k].content) for k in unknown)
    read = sum(shares[k] - FRAMING_TOKENS for k in unknown)
    if not view.base_measured:
        chars += len(system or "")
        read += base - BASE_FRAMING_TOKENS
    with db.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO message_tokens (message_id, model, tokens) "
                         "VALUES (?, ?, ?)", [(sent[k].id, key, shares[k]) for k in unknown])
        conn.execute("INSERT OR REPLACE INTO prompt_tokens (conversation_id, model, "
                     "system_prompt, tokens) VALUES (?, ?, ?, ?)",
                     (cid, key, system or "", base))
        if chars > 0 and read > 0:
            row = conn.execute("SELECT chars, tokens FROM token_rates WHERE model = ?",
                               (key,)).fetchone()
            total_chars = (row["chars"] if row else 0) + chars
            total_tokens = (row["tokens"] if row else 0) + read
            if total_tokens > RATE_WINDOW:
                scale = RATE_WINDOW / total_tokens
                total_chars, total_tokens = int(total_chars * scale), RATE_WINDOW
            conn.execute("INSERT OR REPLACE INTO token_rates (model, chars, tokens) "
                         "VALUES (?, ?, ?)", (key, total_chars, total_tokens))


@dataclass
class TokenFit:
    """A window narrowed to a budget (`fit`), with each message's count by its index in
    the list given (messages not sent are not counted: 0) and the base's."""

    fit: Fit
    tokens: list[int]
    measured: list[bool]
    base: int
    base_measured: bool


def fit_plan(db: Database, cid: int, key: str, system: str | None, messages: Sequence[Any],
             plan: WindowPlan, budget: Budget, model: str) -> TokenFit:
    """Narrow the window `plan` chose among `messages` to `budget`, counting what Ollama
    measured and estimating the rest. Raises MessageTooLong like `fit_window`."""
    view = read_view(db, cid, key, system, [messages[i] for i in plan.sent])
    tokens, measured = [0] * len(messages), [False] * len(messages)
    for j, i in enumerate(plan.sent):
        tokens[i], measured[i] = view.tokens[j], view.measured[j]
    fit = fit_window(messages, plan.sent, tokens, view.base, budget, plan.anchors,
                     measured, model)
    fit.measured = fit.measured and view.base_measured
    return TokenFit(fit, tokens, measured, view.base, view.base_measured)
