"""The stand-in's context length: what a real Ollama does with a prompt too long for it.

Measured on 0.24.0 and 0.32.15 (shared/ollama-api.md, and Ollama's source): a chat whose
rendered prompt is longer than the context is cut without a word, dropping messages from
the front and keeping the system messages and the last message (server/prompt.go
`chatPrompt`); a flattened `/api/generate` prompt loses tokens from its middle (0.24:
the first `num_keep` and the last ones are kept). With `"truncate": false` it refuses
instead, with a 400 whose text differs by release:
- 0.24.0: `{"error":"the input length exceeds the context length"}`;
- 0.32.15: llama-server's own JSON passed on as the message, with the prompt's and the
  context's sizes: `{"error":"{\\"error\\":{\\"code\\":400,\\"message\\":\\"request (627
  tokens) exceeds the available context size (512 tokens), try increasing it\\",\\"type\\":
  \\"exceed_context_size_error\\",\\"n_prompt_tokens\\":627,\\"n_ctx\\":512}}"}`.
A prompt of exactly the context's length is refused too on 0.32 (llama-server wants one
token free), not on 0.24.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

NUM_KEEP = 4  # Ollama's default num_keep: the prompt's first tokens survive a cut


def overflow_message(version: str, prompt_tokens: int, context: int) -> str:
    if version.startswith("0.24"):
        return "the input length exceeds the context length"
    return json.dumps({"error": {
        "code": 400,
        "message": f"request ({prompt_tokens} tokens) exceeds the available context size "
                   f"({context} tokens), try increasing it",
        "type": "exceed_context_size_error", "n_prompt_tokens": prompt_tokens,
        "n_ctx": context}}, separators=(",", ":"))


def too_long(version: str, prompt_tokens: int, context: int) -> bool:
    if version.startswith("0.24"):
        return prompt_tokens > context
    return prompt_tokens >= context


def cut_chat(messages: list[Any], render: Callable[[list[Any]], list[str]],
             context: int) -> list[Any]:
    """Ollama's chatPrompt with truncation: from the front, until the rest fits."""
    if not messages:
        return messages
    for start in range(len(messages)):
        kept = [m for m in messages[:start] if isinstance(m, dict)
                and m.get("role") == "system"] + list(messages[start:])
        if len(render(kept)) <= context or start == len(messages) - 1:
            return kept
    return messages


def cut_tokens(tokens: list[str], context: int) -> list[str]:
    """A flattened prompt past the context: its first NUM_KEEP and last tokens stay."""
    if len(tokens) <= context:
        return tokens
    keep = min(NUM_KEEP, context - 1)
    return tokens[:keep] + tokens[len(tokens) - (context - keep):]
