"""The request a reply sends, made to fit the model's context, and what its answer teaches.

Three moments of one reply (webchat/ws/reply_frames.py starts it, webchat/relay/reply.py runs it):
- Before the message is stored: a new message that cannot fit even alone (with the
  system prompt and room for the reply) is refused, with the way out, and nothing is
  sent or lost (`refuse_new_text`).
- The payload: the count rule's window (webchat/store/window.py) narrowed to the context in
  tokens (webchat/context_fit.py), sent with `"truncate": false` (`prepare`).
- Ollama refused it anyway (an estimate too low: its 400 "the input length exceeds the
  context length"): the window is trimmed once more, with the sizes Ollama gave when it
  gave them, and sent again; the user is told (`Prepared.refit`). A reply that came back
  teaches the counts of what was sent (`Prepared.learn`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ollama.errors import OllamaError
from ..store.context_fit import (
    Budget,
    estimate_tokens,
    fit_window,
    is_overflow,
    overflow_sizes,
    reply_reserve,
    too_long_text,
    without_oldest_exchange,
)
from ..store.token_counts import TokenFit, fit_plan, learn, model_key, read_view
from ..validation import MessageTooLong
from .context_length import ContextLengths
from .payload import build_payload

if TYPE_CHECKING:
    from ..ollama.hosts import Host
    from ..store.history import Message
    from ..store.manager import SessionManager
    from ..store.window import WindowPlan

# When Ollama refuses without saying the prompt's size (0.24), the estimated parts are
# taken to be this much larger: a second miss would take an estimate off by more than
# half, and the default rate already overestimates English prose by a third.
RETRY_GROWTH = 1.5


def budget_for(lengths: ContextLengths, host: Host, model: str,
               options: dict[str, Any]) -> Budget | None:
    """The context the request will run in; None when Ollama cannot say (unreachable,
    no such model): the request then goes as it is, and the stream reports the error."""
    try:
        return lengths.budget(host, model, options)
    except OllamaError:
        return None


def refuse_new_text(sessions: SessionManager, cid: int, model: str, endpoint: str,
                    budget: Budget | None, text: str, images: int = 0) -> None:
    """Raise MessageTooLong when `text` cannot fit even alone: checked before the message
    is stored, so the page keeps it in the composer and nothing is sent."""
    if budget is None:
        return
    system = sessions.conversations.system_prompt(cid)
    view = read_view(sessions.db, cid, model_key(model, endpoint), system, [])
    tokens = estimate_tokens(text, view.rate, images)
    if view.base + tokens > budget.room:
        raise MessageTooLong(too_long_text(model, tokens, view.base, budget), tokens, budget)


@dataclass
class Prepared:
    """One reply's request: the payload, the window it holds, and how it was counted."""

    sessions: SessionManager
    cid: int
    request: dict[str, Any]
    system: str | None
    tail: list[Message]
    plan: WindowPlan
    budget: Budget | None
    image_data: Callable[[list[Any]], dict[str, str]]
    counted: TokenFit | None = None
    sent: list[Message] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    retried: str = ""

    @property
    def key(self) -> str:
        return model_key(self.request["model"], self.request["endpoint"])

    def _build(self, indexes: list[int]) -> None:
        self.sent = [self.tail[i] for i in indexes]
        request = self.request
        self.payload = build_payload(
            request["endpoint"], request["model"], self.system, self.sent,
            request["options"], request["keep_alive"], request["think"],
            self.image_data(self.sent), truncate=False)

    def stats(self) -> dict[str, Any]:
        """What the inspector and the marks read back (stored in the reply's stats)."""
        if self.budget is None:
            return {}
        context: dict[str, Any] = self.budget.to_json()
        if self.counted is not None:
            fit = self.counted.fit
            context |= {"sent_tokens": fit.tokens, "measured": fit.measured,
                        "left_out": len(fit.dropped), "base_tokens": self.counted.base}
        if self.retried:
            context["retried"] = self.retried
        return {"context": context}

    def refit(self, error: str) -> tuple[dict[str, Any], str] | None:
        """After Ollama's 400 for a prompt longer than its context: the window trimmed once
        more (at least one exchange fewer) and a notice for the user; None when nothing
        is left to trim or it was tried already (the 400 is then the reply's error)."""
        if self.retried or self.counted is None or self.budget is None \
                or not is_overflow(error):
            return None
        real, context = overflow_sizes(error)
        budget = self.budget
        if context:
            budget = Budget(context, "as Ollama said",
                            reply_reserve(self.request["options"], context))
        counted = self.counted
        estimated = [i for i in counted.fit.sent if not counted.measured[i]]
        guessed = sum(counted.tokens[i] for i in estimated) + (
            0 if counted.base_measured else counted.base)
        growth = RETRY_GROWTH
        if real and guessed:
            growth = max(1.0, 1 + (real - counted.fit.tokens) / guessed)
        tokens = [round(t * growth) if not m else t
                  for t, m in zip(counted.tokens, counted.measured, strict=True)]
        base = counted.base if counted.base_measured else round(counted.base * growth)
        narrower = without_oldest_exchange(self.tail, counted.fit.sent)
        if not narrower:
            return None
        try:
            fit = fit_window(self.tail, narrower, tokens, base, budget, self.plan.anchors,
                             counted.measured, self.request["model"])
        except MessageTooLong:
            return None
        self.counted = TokenFit(fit, tokens, counted.measured, base, counted.base_measured)
        self.budget = budget
        self._build(fit.sent)
        dropped = len(counted.fit.sent) - len(fit.sent)
        size = f"{real:,} tokens" if real else "longer than estimated"
        self.retried = (f"Ollama found the prompt too long for its context ({size}, "
                        f"{budget.limit:,} here), so {dropped} older message"
                        f"{'s were' if dropped != 1 else ' was'} left out and it was sent "
                        f"again.")
        return self.payload, self.retried

    def learn(self, stats: dict[str, Any]) -> None:
        """A reply came back: its prompt_eval_count is the exact size of what was sent."""
        count = stats.get("prompt_eval_count")
        if isinstance(count, int) and not isinstance(count, bool) and count > 0 and self.sent:
            learn(self.sessions.db, self.cid, self.key, self.system, self.sent, count)


def prepare(sessions: SessionManager, cid: int, request: dict[str, Any],
            budget: Budget | None,
            image_data: Callable[[list[Any]], dict[str, str]]) -> Prepared:
    """The payload for the next reply of `cid`: the count rule's window narrowed to
    `budget`. Raises MessageTooLong when even the newest exchange does not fit."""
    tail, plan = sessions.history.context_plan(cid)
    system = sessions.conversations.system_prompt(cid)
    prepared = Prepared(sessions, cid, request, system, tail, plan, budget, image_data)
    indexes = list(plan.sent)
    if budget is not None and indexes:
        prepared.counted = fit_plan(sessions.db, cid, prepared.key, prepared.system, tail,
                                    plan, budget, request["model"])
        indexes = prepared.counted.fit.sent
    prepared._build(indexes)
    return prepared
