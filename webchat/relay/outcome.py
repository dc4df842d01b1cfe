"""How a reply ended, as it is stored and as the tabs are told: pure functions of what
happened, so each ending is tested without a stream, a socket or a database.

Apart from `Reply` (webchat/relay/reply.py) because this is the one place that decides
what a person reads about an ending: `done`, stopped (with or without text), cut short by
a closed browser or a shutdown, or failed (Ollama's message, naming the host when there
are several).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..ollama.errors import Cancelled, OllamaError

# Why a reply's upstream request was closed, as stored with it and shown to the user.
ENDINGS = {
    "disconnected": "The browser went away before the reply finished",
    "shutdown": "The server was shut down before the reply finished",
}
INTERNAL = "The server hit an internal error; see its log"
NOT_SAVED = "The reply could not be saved"


@dataclass(frozen=True)
class Outcome:
    """A reply's stored `status` ("ok", "stopped", "interrupted" or "error") and the
    `error` shown beside its text (None when it ended well)."""

    status: str
    error: str | None = None


def outcome_of(failure: BaseException | None, text: str, *, reason: str | None = None,
               grace: float = 0.0, host: str | None = None) -> Outcome:
    """What the stream's end means. `failure`: None (the stream ended with `done`), a
    Cancelled (`reason`, the cancellation's: stopped, abandoned, disconnected, shutdown),
    another OllamaError, or anything else (a bug). `text`: the reply's text so far.
    `grace`: --reply-grace, said in the abandoned reply's error. `host`: how to name the
    host in an error (with several hosts), else None."""
    if failure is None:
        return Outcome("ok")
    if isinstance(failure, Cancelled):
        if reason == "stopped":
            return Outcome("stopped", "Stopped by the user" if text else
                           "Stopped before any reply")
        return Outcome("interrupted", ENDINGS.get(reason) or (
            f"Every tab of this browser was closed and none came back within "
            f"{grace:g} s, so the reply was stopped"))
    if isinstance(failure, OllamaError):
        message = str(failure)
        return Outcome("error", f"{host}: {message}" if host else message)
    return Outcome("error", INTERNAL)


def final_frame(outcome: Outcome, stats: dict[str, Any], text: str) -> dict[str, Any]:
    """The terminal frame every tab gets: `done` with the stats, or an `error` saying
    whether text came before it (`partial`)."""
    if outcome.status in ("ok", "stopped"):
        return {"type": "done", "stats": stats}
    code = "ollama" if outcome.status == "error" else "interrupted"
    return {"type": "error", "code": code, "message": outcome.error, "partial": bool(text)}


def counted(tokens: int, first: float | None, last: float) -> dict[str, Any]:
    """What is known of a reply cut short: Ollama sends its counts only at the end, but
    it streams one token per line, so the lines read are the tokens generated."""
    found: dict[str, Any] = {"eval_count": tokens} if tokens else {}
    if first is not None and tokens > 1 and last > first:
        found["tokens_per_second"] = round((tokens - 1) / (last - first), 2)
    return found


def timings(model: str, endpoint: str, host: str, started: float,
            first_token: float | None) -> dict[str, Any]:
    """Ours, beside Ollama's stats: what answered, and how long the reply took (from
    `started`, a time.monotonic()), its first token included when one came."""
    found: dict[str, Any] = {
        "model": model,
        "endpoint": endpoint,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        "host": host,
    }
    if first_token is not None:
        found["first_token_ms"] = round((first_token - started) * 1000, 1)
    return found
