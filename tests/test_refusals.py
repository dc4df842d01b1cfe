"""The one table of refusals: an exception's HTTP status and socket code (webchat/refusals.py)."""

from __future__ import annotations

import pytest

from webchat.guard.roles import Forbidden
from webchat.ollama.errors import ModelNotFound, OllamaError, StreamTimeout
from webchat.ollama.hosts import UnknownHost
from webchat.refusals import details, http_status, refusal_for
from webchat.store.conversations import ConversationLimit, ConversationNotFound
from webchat.validation import InvalidInput


@pytest.mark.parametrize(("exc", "status", "code"), [
    (InvalidInput("text: the message is empty"), 400, "invalid"),
    (ConversationNotFound("no such conversation"), 404, "not_found"),
    (ConversationLimit("at most 3"), 409, "limit"),
    (Forbidden("guests may not"), 403, "forbidden"),
    (OllamaError("down"), 502, "ollama"),
    (ModelNotFound("no such model"), 404, "ollama"),  # its own status, the family's code
    (StreamTimeout("quiet"), 504, "ollama"),
    (UnknownHost("no host 'x'"), 400, "ollama"),
])
def test_each_refusal_has_one_status_and_one_code(exc, status, code):
    refusal = refusal_for(exc)
    assert refusal is not None
    assert (http_status(exc, refusal), refusal.code) == (status, code)


def test_a_bug_is_no_refusal():
    assert refusal_for(KeyError("x")) is None
    assert refusal_for(ValueError("x")) is None


def test_details_name_the_bad_fields():
    assert details(InvalidInput("options.top_p: must be at most 1")) == {
        "field": "options.top_p"}
    assert details(InvalidInput("bad form", {"title": "too long"})) == {
        "fields": {"title": "too long"}}
    assert details(Forbidden("no")) == {}
