"""The context window in tokens: the pure rules (webchat/context_fit.py,
webchat/context_length.py) and the counts learned per model (webchat/token_counts.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from webchat.relay.context_length import default_context, modelfile_num_ctx, resolve_context
from webchat.store import token_counts
from webchat.store.context_fit import (
    DEFAULT_CHARS_PER_TOKEN,
    DEFAULT_RESERVE,
    Budget,
    chars_per_token,
    estimate_tokens,
    fit_window,
    is_overflow,
    overflow_sizes,
    reply_reserve,
    split_measured,
)
from webchat.store.database import Database
from webchat.store.manager import SessionManager
from webchat.store.window import plan_window
from webchat.validation import MessageTooLong


@dataclass
class M:
    role: str
    content: str = "x"
    status: str = "ok"
    id: int = 0


def chat(exchanges: int) -> list[M]:
    out = []
    for n in range(exchanges):
        out += [M("user", f"q{n}", id=2 * n + 1), M("assistant", f"a{n}", id=2 * n + 2)]
    return out + [M("user", "new", "pending", id=2 * exchanges + 1)]


def test_reserve_is_num_predict_when_set_else_the_default_within_a_quarter():
    assert reply_reserve({"num_predict": 100}, 4096) == 100
    assert reply_reserve({}, 8192) == DEFAULT_RESERVE
    assert reply_reserve({"num_predict": -1}, 8192) == DEFAULT_RESERVE
    assert reply_reserve({"num_predict": -2}, 512) == 128
    assert reply_reserve({}, 512) == 128


def test_fit_drops_whole_exchanges_from_the_front_and_starts_with_a_question():
    messages = chat(5)
    sent = list(range(len(messages)))
    tokens = [100] * len(messages)
    fit = fit_window(messages, sent, tokens, base=50, budget=Budget(600, "num_ctx", 100))
    # 50 + 100 * k <= 500 holds 4 messages, but exchanges leave whole: 3 are left
    assert [messages[i].content for i in fit.sent] == ["q4", "a4", "new"]
    assert messages[fit.sent[0]].role == "user"
    assert fit.tokens == 50 + 100 * len(fit.sent) <= 500
    assert fit.dropped == [i for i in sent if i not in fit.sent]


def test_fit_keeps_everything_that_fits():
    messages = chat(2)
    sent = list(range(len(messages)))
    fit = fit_window(messages, sent, [10] * len(messages), 5, Budget(4096, "x", 512))
    assert fit.sent == sent and fit.dropped == [] and fit.tokens == 55


def test_fit_prefers_an_anchor_so_the_start_holds_still():
    messages = chat(8)
    sent = list(range(len(messages)))
    tokens = [10] * len(messages)
    anchors = [0, 8]  # questions 0 and 4 (indexes 0 and 8)
    budget = Budget(10 + 10 * 13 + 20, "x", 20)  # room for 13 messages after the base
    fit = fit_window(messages, sent, tokens, 10, budget, anchors)
    assert fit.sent[0] == 8  # the anchor, though a start at question 2 (index 4) fits too
    sliding = fit_window(messages, sent, tokens, 10, budget)
    assert sliding.sent[0] == 4


def test_fit_refuses_a_message_that_cannot_fit_alone():
    messages = chat(1)
    tokens = [10, 10, 900]
    with pytest.raises(MessageTooLong) as raised:
        fit_window(messages, [0, 1, 2], tokens, 20, Budget(512, "num_ctx", 128),
                   model="gemma3:270m")
    text = str(raised.value)
    assert "about 900 tokens" in text and "gemma3:270m's context here is 512" in text
    assert "num_ctx" in text and "shorten" in text


def test_split_measured_keeps_known_parts_and_adds_up_exactly():
    base, shares = split_measured(300, 40, 30, [100, None, None], [90, 50, 70])
    assert base == 40 and shares[0] == 100
    assert sum(shares) + base == 300
    assert shares[2] > shares[1]  # in proportion to the estimates
    base, shares = split_measured(80, None, 30, [None], [40])
    assert base + shares[0] == 80
    base, shares = split_measured(123, 20, 30, [50, 50], [1, 1])  # all known: base moves
    assert (base, shares) == (23, [50, 50])


def test_rates_and_estimates():
    assert chars_per_token(0, 0) == DEFAULT_CHARS_PER_TOKEN
    assert chars_per_token(4400, 1000) == pytest.approx(4.4 * 0.9)
    assert estimate_tokens("a" * 300, 3.0) == 100 + 5
    assert estimate_tokens("", 3.0, images=1) == 5 + 768


def test_overflow_messages_of_both_releases():
    old = "the input length exceeds the context length"
    assert is_overflow(old) and overflow_sizes(old) == (None, None)
    new = json.dumps({"error": {"code": 400, "message": "request (627 tokens) exceeds the "
                                "available context size (512 tokens), try increasing it",
                                "type": "exceed_context_size_error", "n_prompt_tokens": 627,
                                "n_ctx": 512}})
    assert is_overflow(new) and overflow_sizes(new) == (627, 512)
    assert not is_overflow('"gemma3:270m" does not support thinking')


def test_context_length_order():
    show = "temperature 0.1\nnum_ctx                        2048\nstop \"<end_of_turn>\""
    assert modelfile_num_ctx(show) == 2048 and modelfile_num_ctx("") is None
    assert resolve_context({"num_ctx": 512}, 4096, 2048, 32768, "0.32.15") == (512, "num_ctx")
    limit, source = resolve_context({"num_ctx": 100000}, None, None, 32768, "0.32.15")
    assert limit == 32768 and "capped" in source
    assert resolve_context({}, 4096, 2048, 32768, "0.32.15") == (4096, "as loaded, /api/ps")
    assert resolve_context({}, None, 2048, 32768, "0.24.0")[0] == 2048
    assert resolve_context({}, None, None, 32768, "0.24.0") == (4096, "Ollama 0.24.0 default")
    assert resolve_context({}, None, None, 1024, "0.32.15")[0] == 1024
    assert default_context("0.6.6") == 2048 and default_context("0.6.7") == 4096


def test_counts_are_learned_per_model_and_estimate_only_new_text(tmp_path):
    db = Database(tmp_path / "t.db")
    sessions = SessionManager(db, max_history=10)
    sid = sessions.create()
    cid = sessions.conversations.resolve(sid, None, 10, True)
    sessions.conversations.set_system(cid, "Be brief.")
    q1 = sessions.exchanges.add_user(sid, cid, "What is a prime number?", "m")
    reply = sessions.exchanges.begin_reply(sid, cid, "m", "chat", {})
    sessions.exchanges.finish_reply(q1, reply, "A number with two divisors.", "", "ok",
                                    {"eval_count": 7}, None)
    first = sessions.history.context_window(cid)
    token_counts.learn(db, cid, "m", "Be brief.", first[:1], 30)
    view = token_counts.read_view(db, cid, "m", "Be brief.", first)
    assert view.base_measured and view.measured == [True, False]
    assert view.base + view.tokens[0] == 30
    assert view.tokens[1] == 7 + 5  # the reply from its own eval_count
    sessions.exchanges.add_user(sid, cid, "Is 91 prime?", "m")
    window = sessions.history.context_window(cid)
    token_counts.learn(db, cid, "m", "Be brief.", window, 55)
    view = token_counts.read_view(db, cid, "m", "Be brief.", window)
    assert all(view.measured) and view.total(range(len(window))) == 55
    other = token_counts.read_view(db, cid, "other", "Be brief.", window)
    assert not any(other.measured)  # another model counts apart
    edited = token_counts.read_view(db, cid, "m", "Be terse instead.", window)
    assert not edited.base_measured  # a new system prompt is measured again


def test_window_plan_lists_its_anchors():
    messages = chat(9)
    plan = plan_window(messages, 6, 8, "steps")
    questions = [i for i, m in enumerate(messages) if m.role == "user"]
    assert plan.anchors == questions[::4]
    assert plan_window(messages, 6, 8, "sliding").anchors == questions


def test_only_a_refusal_about_the_context_is_retried():
    from webchat.relay.context_guard import Prepared
    from webchat.store.context_fit import Fit
    from webchat.store.token_counts import TokenFit

    prepared = Prepared(None, 0, {"options": {}}, None, [], None,  # type: ignore[arg-type]
                        Budget(512, "num_ctx", 128), lambda _: {},
                        counted=TokenFit(Fit([]), [], [], 0, True))
    assert prepared.refit('"gemma3:270m" does not support thinking') is None
    assert prepared.refit("model 'nope' not found") is None
