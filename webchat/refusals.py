"""The one table of what a refused request is told: an exception's HTTP status (the API,
webchat/api/) and its error code (an `error` frame on the socket, webchat/ws/).

One table so the two answers cannot drift apart: the page reads the socket's codes
(docs/protocol.md), a script reads the statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .guard.limits import RateLimited
from .guard.roles import Forbidden
from .ollama.errors import OllamaError
from .store.conversations import CannotRestore, ConversationLimit, ConversationNotFound
from .store.retention import QuotaExceeded
from .validation import InvalidInput, field_of


@dataclass(frozen=True)
class Refusal:
    status: int  # the API's HTTP status (an OllamaError answers with its own `status`)
    code: str  # the socket's error code
    code_in_json: bool = False  # the API's body names the code too (`forbidden`)
    names_conversation: bool = False  # the socket's frame names the conversation asked for


REFUSALS: dict[type[Exception], Refusal] = {
    InvalidInput: Refusal(400, "invalid", names_conversation=True),
    ConversationNotFound: Refusal(404, "not_found", names_conversation=True),
    ConversationLimit: Refusal(409, "limit"),
    Forbidden: Refusal(403, "forbidden", code_in_json=True),
    RateLimited: Refusal(429, "rate_limited", code_in_json=True),
    OllamaError: Refusal(502, "ollama"),
    CannotRestore: Refusal(410, "undo_expired"),
    QuotaExceeded: Refusal(413, "quota"),
}


def refusal_for(exc: BaseException) -> Refusal | None:
    """The row for an exception (or the nearest class it derives from); None: a bug."""
    for kind in type(exc).__mro__:
        found = REFUSALS.get(kind)  # type: ignore[call-overload]
        if found is not None:
            return found
    return None


def http_status(exc: BaseException, refusal: Refusal) -> int:
    return exc.status if isinstance(exc, OllamaError) else refusal.status


def details(exc: BaseException) -> dict[str, Any]:
    """What both answers add: the field a bad value came in, and with several checked
    at once (a form) each bad field's own message; for a rate limit, in how many
    seconds to try again."""
    if isinstance(exc, RateLimited):
        return {"retry_after": int(exc.retry_after) + 1}
    if not isinstance(exc, InvalidInput):
        return {}
    field = field_of(str(exc))
    extra: dict[str, Any] = {"field": field} if field else {}
    if exc.fields:
        extra["fields"] = exc.fields
    return extra
