"""The context window in tokens through `/ws`, against the stand-in (which cuts a prompt
past the context without a word, or refuses it with `truncate: false`, per release)."""

from __future__ import annotations

import pytest

from .support.fake_ollama import RELEASES
from .support.live import BrowserClient, LiveServer

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def question(n: int, words: int = 30) -> str:
    return " ".join(f"{WORDS[(n + k) % len(WORDS)]}{n}" for k in range(words))


@pytest.fixture
def roomy(tmp_path, fake_ollama):
    """A server whose count rule sends everything: only the context trims."""
    server = LiveServer(tmp_path / "data", fake_ollama.url, MAX_HISTORY=100, WINDOW_STEP=0)
    yield BrowserClient(server)
    server.stop()


def chats(fake_ollama):
    """The replies' requests (not the warm-ups of the prompt cache that follow them)."""
    return [p for m, path, p in fake_ollama.requests if m == "POST" and path == "/api/chat"
            and p and p.get("messages") and p["messages"][-1]["role"] == "user"]


def test_a_conversation_that_outgrows_num_ctx_is_trimmed_in_tokens(fake_ollama, roomy):
    ws = roomy.socket()
    ws.send({"type": "system", "text": "Answer briefly."})
    ws.recv()
    options = {"num_ctx": 200, "num_predict": 20}
    warmer = roomy.server.services.cache_warm
    for n in range(8):
        assert warmer.idle(10)
        before = len(fake_ollama.prompts)
        frames = ws.chat(question(n), options=options)
        assert frames[-1]["type"] == "done", frames[-1]
        stats = frames[-1]["stats"]
        assert stats["context"]["limit"] == 200 and stats["context"]["source"] == "num_ctx"
        assert stats["context"]["reserve"] == 20
        # Nothing was cut: the stand-in read every token of what was sent, within room.
        name, read, _ = fake_ollama.prompts[before]
        assert stats["prompt_eval_count"] == read <= 180
    sent = chats(fake_ollama)[-1]
    assert sent["truncate"] is False
    assert sent["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert sent["messages"][1]["role"] == "user"  # still starts with a question
    assert sent["messages"][-1]["content"] == question(7)
    assert len(sent["messages"]) < 1 + 15  # older exchanges left
    # After the first turns every message sent has been measured: the app's count
    # before sending is Ollama's exactly but for the new question's estimate.
    counted = stats["context"]["sent_tokens"]
    assert abs(counted - stats["prompt_eval_count"]) <= 15
    messages = roomy.history()["messages"]
    outside = [m for m in messages if not m["in_context"]]
    assert outside and all("context (200 tokens, num_ctx)" in m["window_reason"]
                           for m in outside)
    inside = [m for m in messages if m["in_context"]]
    assert inside and all(isinstance(m["tokens"], int) and m["tokens_measured"]
                          for m in inside[:-1])
    # The last reply is read by the next request: till then, its own eval_count counts.
    assert not inside[-1]["tokens_measured"]
    assert inside[-1]["tokens"] == inside[-1]["stats"]["eval_count"] + 5


def test_a_message_too_long_to_fit_is_refused_before_anything_is_sent(fake_ollama, user):
    ws = user.socket()
    frames = ws.chat(question(0, words=400), options={"num_ctx": 128, "num_predict": 16})
    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "too_long"
    assert "context here is 128 (num_ctx)" in error["message"]
    assert "Raise num_ctx" in error["message"] and "shorten" in error["message"]
    assert error["context"] == {"limit": 128, "source": "num_ctx", "reserve": 16}
    assert not chats(fake_ollama)
    assert user.history()["messages"] == []  # the page keeps it in the composer
    # The same conversation goes on as soon as the message fits.
    assert ws.chat("short", options={"num_ctx": 128, "num_predict": 16})[-1]["type"] == "done"


def test_num_predict_larger_than_the_context_is_a_clear_error(fake_ollama, user):
    frames = user.socket().chat("hello", options={"num_ctx": 512, "num_predict": 5000})
    assert frames[-1]["code"] == "too_long"
    assert "5,000 kept for the reply" in frames[-1]["message"]


def test_a_huge_num_ctx_is_capped_at_the_trained_length(fake_ollama, user):
    frames = user.socket().chat("hello", options={"num_ctx": 16_000_000})
    context = frames[-1]["stats"]["context"]
    assert context["limit"] == 32768 and "capped" in context["source"]


def test_without_num_ctx_the_loaded_context_counts(fake_ollama, user):
    fake_ollama.add_model("small:1b", context_length=256)
    ws = user.socket()
    first = ws.chat("hello", model="small:1b")[-1]["stats"]["context"]
    assert first["limit"] == 256  # not loaded yet: the model's own num_ctx
    second = ws.chat("again", model="small:1b")[-1]["stats"]["context"]
    assert second == {**second, "limit": 256, "source": "as loaded, /api/ps"}


@pytest.mark.parametrize("version", ["0.24.0", "0.32.15"])
def test_an_estimate_too_low_gets_ollamas_400_then_one_trimmed_retry(fake_ollama, roomy,
                                                                    version):
    fake_ollama.release = RELEASES[version]
    ws = roomy.socket()
    ws.send({"type": "system", "text": "Answer briefly."})
    ws.recv()
    options = {"num_ctx": 300, "num_predict": 20}
    for n in range(2):
        assert ws.chat(question(n), options=options)[-1]["type"] == "done"
    # A rate far off (as for a script the model packs tightly): the new text looks short.
    with roomy.server.services.sessions.db.transaction() as conn:
        conn.execute("UPDATE token_rates SET chars = tokens * 1000")
    frames = ws.chat(question(9, words=200), options=options)
    notices = [f for f in frames if f["type"] == "notice" and f["code"] == "context_trimmed"]
    assert len(notices) == 1 and "left out and it was sent again" in notices[0]["message"]
    assert frames[-1]["type"] == "done", frames[-1]
    refused, retried = chats(fake_ollama)[-2:]
    assert len(retried["messages"]) < len(refused["messages"])
    assert retried["messages"][1]["role"] == "user"
    history = roomy.history()
    stored = roomy.stored_request(history, len(history["messages"]) - 1)
    assert stored["messages"] == retried["messages"]  # the inspector shows what went
    assert "sent again" in history["messages"][-1]["stats"]["context"]["retried"]


def test_the_stand_in_cuts_silently_without_truncate_false(fake_ollama):
    import requests

    fake_ollama.release = RELEASES["0.24.0"]
    long = [{"role": "user", "content": question(n)} for n in range(6)]
    body = {"model": "gemma3:270m", "messages": long, "options": {"num_ctx": 100},
            "stream": False}
    cut = requests.post(fake_ollama.url + "/api/chat", json=body, timeout=10)
    assert cut.status_code == 200 and cut.json()["prompt_eval_count"] <= 100
    refused = requests.post(fake_ollama.url + "/api/chat", json={**body, "truncate": False},
                            timeout=10)
    assert refused.status_code == 400
    assert refused.json() == {"error": "the input length exceeds the context length"}
    fake_ollama.release = RELEASES["0.32.15"]
    refused = requests.post(fake_ollama.url + "/api/chat", json={**body, "truncate": False},
                            timeout=10)
    assert "exceed_context_size_error" in refused.json()["error"]
    assert '"n_ctx":100' in refused.json()["error"]


def test_on_0_32_the_reply_is_read_into_the_cache_before_the_next_question(fake_ollama,
                                                                          roomy):
    """0.32's llama-server rolls its cache back to a checkpoint made while a prompt is
    read, so the reply after it is read again with the next question; the warm-up after
    each reply reads it while the user types, and the next turn reads the question."""
    ws = roomy.socket()
    warmer = roomy.server.services.cache_warm
    for n in range(4):
        assert warmer.idle(10)
        before = len(fake_ollama.prompts)
        frames = ws.chat(question(n, words=10))
        assert frames[-1]["type"] == "done"
        _, count, cached = fake_ollama.prompts[before]
        if n:
            assert count - cached <= 10 + 8  # the question and its turn markers
    assert warmer.idle(10)
    warm = [p for _, path, p in fake_ollama.requests if path == "/api/chat"
            and p and p.get("messages") and p["messages"][-1]["role"] == "assistant"]
    assert len(warm) == 4 and all(p["options"]["num_predict"] == 1 for p in warm)
    history = roomy.history()["messages"]
    assert warm[-1]["messages"][-1]["content"] == history[-1]["content"]


def test_on_0_24_nothing_is_warmed(fake_ollama, roomy):
    """0.24's own runner reuses the reply it wrote: a turn reads only the question."""
    fake_ollama.release = RELEASES["0.24.0"]
    ws = roomy.socket()
    for n in range(3):
        before = len(fake_ollama.prompts)
        assert ws.chat(question(n, words=10))[-1]["type"] == "done"
        _, count, cached = fake_ollama.prompts[before]
        if n:
            assert count - cached <= 10 + 8
    assert roomy.server.services.cache_warm.idle(10)
    assert len(fake_ollama.prompts) == 3


def test_a_second_refusal_is_said_plainly(fake_ollama, roomy):
    """Trimmed once and still refused (a rate far off twice over): a clear error, and the
    question stays, failed, for Retry. (0.32 says the prompt's size, so its one retry is
    exact: this takes 0.24, which does not.)"""
    fake_ollama.release = RELEASES["0.24.0"]
    ws = roomy.socket()
    options = {"num_ctx": 300, "num_predict": 20}
    for n in range(2):
        assert ws.chat(question(n, words=60), options=options)[-1]["type"] == "done"
    with roomy.server.services.sessions.db.transaction() as conn:
        conn.execute("UPDATE token_rates SET chars = tokens * 1000")
        conn.execute("UPDATE message_tokens SET tokens = 1")
    frames = ws.chat(question(9, words=240), options=options)
    assert frames[-1]["type"] == "error", frames[-1]
    assert "longer than the model's context" in frames[-1]["message"]
    assert len(chats(fake_ollama)) == 2 + 2  # sent, refused, trimmed, refused: no more
    assert roomy.history()["messages"][-1]["status"] == "failed"
