"""A window that fits the model's context, counted in tokens: pure functions.

Why in tokens: Ollama cuts a prompt longer than the context without a word (it drops
messages from the front, see shared/ollama-api.md), so a window counted in messages told
people "these are in the context" when Ollama had read a third of them. Here the window
the count rule chose (webchat/store/window.py) is narrowed, whole exchanges at a time, until
the system prompt, the messages and room for the reply fit the context length; the
request then says `"truncate": false`, so an estimate that was still too low gets
Ollama's 400 instead of a silent cut (webchat/relay/context_guard.py trims once more then).

Tokens come from Ollama itself. It has no tokenize endpoint, but every reply's
`prompt_eval_count` is the exact size of the prompt just sent (its cached part too), so
each message's share is learned per model (`split_measured`) and stored with it
(webchat/store/token_counts.py). Only text Ollama has not read yet is estimated, from the
characters per token measured for that model.

Nothing here talks to Ollama or the database: the functions take what those said.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..validation import MessageTooLong

# Characters per token before a model has been measured. Gemma 3 reads English at 4.4
# characters a token (2,700 characters of prose: 610 tokens, Ollama 0.32.15); code,
# numbers and other scripts pack fewer. 3.0 overestimates English prose by about a
# third, so the first request of a conversation errs on the short side; an estimate
# that is still too low is caught by `truncate: false` and trimmed once more.
DEFAULT_CHARS_PER_TOKEN = 3.0
# A measured rate is used with this margin (it is an average over other texts).
RATE_MARGIN = 0.9
# The turn markers a template wraps around each message: Gemma 3's are
# `<start_of_turn>user\n` and `<end_of_turn>\n` (5 tokens); ChatML and Llama 3 take 4-5.
FRAMING_TOKENS = 5
# The system prompt's markers and the prompt's end (`<start_of_turn>model\n`).
BASE_FRAMING_TOKENS = 8
# An image: Ollama's own truncation counts 768 tokens for each (server/prompt.go).
IMAGE_TOKENS = 768
# Room kept for the reply when num_predict does not say: 512 tokens is about 380 English
# words, a long chat answer (the bench's replies are 24; Gemma 3 270M's untrimmed
# answers to the bench questions ran 40-300). A longer reply is not cut by the app:
# Ollama shifts its context mid-answer. At most a quarter of the context, so a
# num_ctx of 512 still holds 384 tokens of conversation.
DEFAULT_RESERVE = 512
RESERVE_SHARE = 4


def chars_per_token(chars: int, tokens: int) -> float:
    """The rate to estimate with: a model's measured one (with a margin), or the default."""
    if tokens <= 0 or chars <= 0:
        return DEFAULT_CHARS_PER_TOKEN
    return max(1.0, chars / tokens * RATE_MARGIN)


def estimate_tokens(text: str, rate: float, images: int = 0) -> int:
    """What a message not yet read by the model will cost in a prompt."""
    return math.ceil(len(text) / rate) + FRAMING_TOKENS + IMAGE_TOKENS * images


def estimate_reply(text: str, rate: float, eval_count: Any = None) -> int:
    """A reply the model just wrote: `eval_count` is its own token count."""
    if isinstance(eval_count, int) and not isinstance(eval_count, bool) and eval_count > 0:
        return eval_count + FRAMING_TOKENS
    return estimate_tokens(text, rate)


def reply_reserve(options: dict[str, Any], limit: int) -> int:
    """Room left for the reply: num_predict when it is a count, else DEFAULT_RESERVE (at
    most a quarter of the context). -1 (no limit) and -2 (fill the context) get the
    default too: the context cannot hold an unbounded reply."""
    wanted = options.get("num_predict")
    if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0:
        return wanted
    return max(1, min(DEFAULT_RESERVE, limit // RESERVE_SHARE))


@dataclass(frozen=True)
class Budget:
    """The context a request runs in: `limit` tokens (and where that figure came from),
    of which `reserve` stay free for the reply."""

    limit: int
    source: str
    reserve: int

    @property
    def room(self) -> int:
        return self.limit - self.reserve

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "source": self.source, "reserve": self.reserve}


@dataclass
class Fit:
    """The window narrowed to the budget: `sent` indexes the messages given, oldest
    first; `dropped` are the ones the count rule would have sent but the context cannot
    hold; `tokens` is the prompt's size as counted (`measured` when every part of it was
    measured by Ollama, else partly estimated)."""

    sent: list[int]
    dropped: list[int] = field(default_factory=list)
    tokens: int = 0
    measured: bool = True


def too_long_text(model: str, tokens: int, base: int, budget: Budget) -> str:
    """What the user reads when the message alone cannot fit, with the ways out."""
    others = f" with the system prompt ({base:,}) and" if base > BASE_FRAMING_TOKENS else " with"
    return (f"This message is about {tokens:,} tokens; {model}'s context here is "
            f"{budget.limit:,} ({budget.source}),{others} {budget.reserve:,} kept for the "
            f"reply. Raise num_ctx in the parameters, lower num_predict, or shorten the "
            f"message. Nothing was sent; the message is kept.")


def _exchanges(messages: Sequence[Any], sent: Sequence[int]) -> list[list[int]]:
    """`sent` cut into exchanges: each a question and what follows it."""
    groups: list[list[int]] = []
    for i in sent:
        if messages[i].role == "user" or not groups:
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def without_oldest_exchange(messages: Sequence[Any], sent: Sequence[int]) -> list[int]:
    """`sent` less its first exchange; empty when only one is left."""
    groups = _exchanges(messages, sent)
    return [i for g in groups[1:] for i in g] if len(groups) > 1 else []


def fit_window(messages: Sequence[Any], sent: Sequence[int], tokens: Sequence[int],
               base: int, budget: Budget, anchors: Sequence[int] = (),
               measured: Sequence[bool] = (), model: str = "the model") -> Fit:
    """Narrow `sent` (indexes into `messages`, a window starting with a question) until
    `base` (system prompt and template) plus the messages' `tokens` (one per message
    given, not only those sent) leave `budget.reserve` free.

    Whole exchanges leave from the front and the window still starts with a question.
    Among the starts that fit, an anchor (a start the trim policy holds still, see
    window.py) is taken first, so the start stays put over the next turns and Ollama's
    prompt cache keeps matching; without one, the earliest question that fits. Raises
    MessageTooLong when not even the newest exchange fits."""
    def total(indexes: Sequence[int]) -> int:
        return base + sum(tokens[i] for i in indexes)

    def known(indexes: Sequence[int]) -> bool:
        return all(measured[i] for i in indexes) if measured else False

    chosen = list(sent)
    if not chosen or total(chosen) <= budget.room:
        return Fit(chosen, [], total(chosen), known(chosen))
    groups = _exchanges(messages, chosen)
    suffixes = [[i for g in groups[k:] for i in g] for k in range(len(groups))]
    fitting = [k for k in range(len(groups)) if total(suffixes[k]) <= budget.room]
    if not fitting:
        newest = groups[-1]
        raise MessageTooLong(too_long_text(model, sum(tokens[i] for i in newest),
                                           base, budget), total(newest), budget)
    anchored = [k for k in fitting if groups[k][0] in set(anchors)]
    start = anchored[0] if anchored else fitting[0]
    kept = suffixes[start]
    return Fit(kept, [i for i in chosen if i not in set(kept)], total(kept), known(kept))


def split_measured(prompt_tokens: int, base: int | None, base_estimate: int,
                   counts: Sequence[int | None],
                   estimates: Sequence[int]) -> tuple[int, list[int]]:
    """Share a reply's `prompt_eval_count` among the parts of the prompt it was for: the
    base (system prompt and template) and each message sent. Parts already measured
    keep their count; what is left goes to the others in proportion to their estimates
    (one unknown part, the usual case, gets it exactly). With every part known, a
    difference goes to the base (a template or system prompt that changed). The parts
    always add up to `prompt_tokens` exactly."""
    unknown = [k for k, c in enumerate(counts) if c is None]
    known_sum = sum(c for c in counts if c is not None)
    result = [c if c is not None else 0 for c in counts]
    if base is not None and not unknown:
        return prompt_tokens - known_sum, result
    parts_estimated = [estimates[k] for k in unknown]
    if base is None:
        parts_estimated.append(base_estimate)
    left = prompt_tokens - known_sum - (base or 0)
    weight = sum(parts_estimated) or 1
    shares = [max(0, round(left * e / weight)) for e in parts_estimated]
    if shares:
        shares[-1] = left - sum(shares[:-1])  # exact sum, the rounding on the last part
    for k, share in zip(unknown, shares, strict=False):
        result[k] = share
    new_base = shares[-1] if base is None else base
    return new_base, result


_OVERFLOW = ("the input length exceeds the context length", "exceed_context_size_error",
             "exceeds the available context size", "longer than the context length")
_PROMPT_COUNT = re.compile(r'"n_prompt_tokens"\s*:\s*(\d+)')
_CONTEXT = re.compile(r'"n_ctx"\s*:\s*(\d+)')


def is_overflow(message: str) -> bool:
    """Ollama refused a prompt longer than the context (`truncate: false`). 0.24 says
    "the input length exceeds the context length"; 0.32 passes on llama-server's JSON
    (`exceed_context_size_error`, with the prompt's and the context's sizes)."""
    return any(marker in message for marker in _OVERFLOW)


def overflow_text(message: str) -> str:
    """Ollama's refusal, said plainly (0.32's is llama-server's JSON inside a string)."""
    if not is_overflow(message):
        return message
    prompt, context = overflow_sizes(message)
    sizes = f" ({prompt:,} tokens; the context is {context:,})" if prompt and context else ""
    return (f"Ollama found the prompt longer than the model's context{sizes}, even with "
            "older messages left out. Raise num_ctx or shorten the last message.")


def overflow_sizes(message: str) -> tuple[int | None, int | None]:
    """The prompt's real size and the context length, when Ollama said them (0.32)."""
    text = message
    try:
        inner = json.loads(message)
        text = json.dumps(inner)
    except ValueError:
        pass
    prompt = _PROMPT_COUNT.search(text)
    context = _CONTEXT.search(text)
    return (int(prompt.group(1)) if prompt else None,
            int(context.group(1)) if context else None)
