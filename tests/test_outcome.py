"""How a reply ended, as stored and as told to the tabs (webchat/relay/outcome.py)."""

from __future__ import annotations

import pytest

from webchat.ollama.errors import Cancelled, OllamaRejected, StreamTimeout
from webchat.relay.outcome import (
    INTERNAL,
    Outcome,
    counted,
    final_frame,
    outcome_of,
)

STATS = {"eval_count": 3}


def test_a_stream_that_ends_with_done_is_ok():
    outcome = outcome_of(None, "Hello")
    assert outcome == Outcome("ok")
    assert final_frame(outcome, STATS, "Hello") == {"type": "done", "stats": STATS}


@pytest.mark.parametrize(("text", "error"), [
    ("", "Stopped before any reply"),
    ("Half a", "Stopped by the user"),
])
def test_a_stop_is_done_with_what_was_said(text, error):
    outcome = outcome_of(Cancelled("stopped"), text, reason="stopped")
    assert outcome == Outcome("stopped", error)
    assert final_frame(outcome, STATS, text) == {"type": "done", "stats": STATS}


@pytest.mark.parametrize(("reason", "error"), [
    ("shutdown", "The server was shut down before the reply finished"),
    ("disconnected", "The browser went away before the reply finished"),
    ("abandoned", "Every tab of this browser was closed and none came back within 20 s, "
                  "so the reply was stopped"),
])
def test_a_reply_cut_short_is_interrupted_with_its_reason(reason, error):
    outcome = outcome_of(Cancelled(reason), "so far", reason=reason, grace=20.0)
    assert outcome == Outcome("interrupted", error)
    assert final_frame(outcome, STATS, "so far") == {
        "type": "error", "code": "interrupted", "message": error, "partial": True}


def test_ollamas_error_is_said_naming_the_host_when_there_are_several():
    failure = OllamaRejected("model is too large", 500)
    assert outcome_of(failure, "") == Outcome("error", "model is too large")
    named = outcome_of(failure, "", host="Ollama host 'gpu' (http://gpu:11434)")
    assert named == Outcome("error", "Ollama host 'gpu' (http://gpu:11434): model is too large")
    assert final_frame(named, STATS, "") == {
        "type": "error", "code": "ollama", "message": named.error, "partial": False}
    assert outcome_of(StreamTimeout("quiet"), "a").status == "error"


def test_a_bug_is_an_internal_error_never_its_own_text():
    outcome = outcome_of(KeyError("secret detail"), "")
    assert outcome == Outcome("error", INTERNAL)


def test_a_reply_cut_short_counts_the_tokens_it_read():
    assert counted(0, None, 0.0) == {}
    assert counted(1, 1.0, 1.0) == {"eval_count": 1}
    assert counted(11, 1.0, 3.0) == {"eval_count": 11, "tokens_per_second": 5.0}
