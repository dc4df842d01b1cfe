"""The context window in tokens against a real Ollama (0.32.15 by default; 0.24.0 too).

What the issue measured: a system prompt and questions of ~200 tokens with num_ctx 512,
the app sent 640 tokens and Ollama read 428 without a word. Now every request says
`"truncate": false` and is cut by the app, in tokens, to fit with room for the reply; so
the same request sent again with a large context must read exactly as many tokens:
nothing was cut behind the app's back.
"""

from __future__ import annotations

from ..support.live import BrowserClient, LiveServer
from ..support.real import GEMMA, REAL_URL, REPLY_TIMEOUT, TINY, needs_real_ollama, ollama

pytestmark = needs_real_ollama

SYSTEM = "You are a patient tutor. Answer in one short sentence."
TOPICS = ["rivers", "mountains", "forests", "deserts", "oceans", "glaciers"]


def long_question(topic: str) -> str:
    """About 200 Gemma 3 tokens of plain English (4.4 characters a token)."""
    sentence = (f"Tell me about {topic}, how they form, what lives near them, how people "
                f"have used them through history, and why they matter for the climate. ")
    return sentence * 6 + "Answer briefly."


def read_whole(request: dict) -> int:
    """The tokens of a stored request, read by Ollama with room to spare: the same
    messages on the same template (tiny-assistant: the same weights and template), in a
    context of 4096."""
    body = {"model": TINY, "messages": request["messages"], "stream": False,
            "options": {"num_ctx": 4096, "num_predict": 1, "temperature": 0}}
    answer = ollama("POST", "/api/chat", body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["prompt_eval_count"])


def test_a_conversation_that_outgrows_num_ctx_512_is_read_whole(tmp_path) -> None:
    server = LiveServer(tmp_path / "data", REAL_URL, MAX_HISTORY=100, READ_TIMEOUT=REPLY_TIMEOUT,
                        KEEP_MODELS_ON_LEAVE=True)
    try:
        user = BrowserClient(server)
        ws = user.socket()
        cid = user.http.post(server.url + "/api/conversations", json={"system": SYSTEM},
                             timeout=10).json()["id"]
        options = {"num_ctx": 512, "num_predict": 12, "temperature": 0, "seed": 1}
        for topic in TOPICS[:4]:
            ws.send({"type": "chat", "text": long_question(topic), "model": GEMMA,
                     "conversation": cid, "options": options})
            frames = ws.recv_until("done", "error", timeout=REPLY_TIMEOUT)
            assert frames[-1]["type"] == "done", frames[-1]
            stats = frames[-1]["stats"]
            assert stats["context"]["limit"] == 512 and stats["context"]["reserve"] == 12
            assert stats["prompt_eval_count"] <= 512 - 12
            history = user.history(cid)
            request = user.stored_request(history, len(history["messages"]) - 1)
            assert request["truncate"] is False
            assert request["messages"][0] == {"role": "system", "content": SYSTEM}
            assert request["messages"][1]["role"] == "user"
            # What the app says it sent is what Ollama read: sent again with room to
            # spare, the same request reads exactly as many tokens.
            assert read_whole(request) == stats["prompt_eval_count"]
        messages = user.history(cid)["messages"]
        outside = [m for m in messages if not m["in_context"]]
        assert outside, "four ~200-token questions cannot all fit in 512"
        assert all("context (512 tokens, num_ctx)" in m["window_reason"]
                   or "the question it answers" in m["window_reason"] for m in outside)
        # Older exchanges leave whole, from the front: what the next request sends is a
        # run of whole exchanges at the end (none, here, when the system prompt, the last
        # exchange and a next question no longer fit 500 tokens together).
        kept = [m["in_context"] for m in messages]
        assert kept == sorted(kept) and kept.count(False) % 2 == 0, kept
    finally:
        server.stop()


def test_a_message_too_long_for_num_ctx_512_is_refused_and_kept(tmp_path) -> None:
    server = LiveServer(tmp_path / "data", REAL_URL, READ_TIMEOUT=REPLY_TIMEOUT,
                        KEEP_MODELS_ON_LEAVE=True)
    try:
        user = BrowserClient(server)
        ws = user.socket()
        text = long_question("volcanoes") * 4  # about 800 tokens
        frames = ws.chat(text, model=GEMMA, options={"num_ctx": 512, "num_predict": 12})
        error = frames[-1]
        assert error["type"] == "error" and error["code"] == "too_long", error
        assert f"{GEMMA}'s context here is 512" in error["message"]
        assert error["tokens"] > 512
        assert user.history()["messages"] == []
        # Ollama agrees: the same text alone does not fit its 512.
        refused = ollama("POST", "/api/chat", {
            "model": GEMMA, "messages": [{"role": "user", "content": text}], "stream": False,
            "truncate": False, "options": {"num_ctx": 512, "num_predict": 1}})
        assert refused.status_code == 400
    finally:
        server.stop()


def test_both_endpoints_accept_truncate_false() -> None:
    """`truncate: false` on /api/chat and /api/generate: a prompt that fits is answered as
    usual, one that does not gets the 400 (both releases; 0.32 says the sizes)."""
    long = "The quick brown fox jumps over the lazy dog. " * 60
    for path, body in (("/api/chat", {"messages": [{"role": "user", "content": "Hi"}]}),
                       ("/api/generate", {"prompt": "Hi"})):
        base = {"model": GEMMA, "stream": False, "truncate": False,
                "options": {"num_ctx": 512, "num_predict": 2}}
        fits = ollama("POST", path, {**base, **body})
        assert fits.status_code == 200, fits.text
        key = "messages" if path == "/api/chat" else "prompt"
        value = [{"role": "user", "content": long}] if key == "messages" else long
        refused = ollama("POST", path, {**base, key: value})
        assert refused.status_code == 400
        text = refused.json()["error"]
        assert ("the input length exceeds the context length" in text
                or "exceed_context_size_error" in text), text
