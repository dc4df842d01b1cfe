"""The context window against a real Ollama (0.32.15) and Gemma 3's own chat template."""

from __future__ import annotations

from ..support.live import BrowserClient
from ..support.real import GEMMA, REAL_URL, REPLY_TIMEOUT, needs_real_ollama

pytestmark = needs_real_ollama

SYSTEM = "You are a helpful pirate. Answer every question briefly, in pirate speech."


def test_system_prompt_reaches_the_prompt_past_the_window(make_server) -> None:
    """Longer than the window (3 messages, max_history 2: the seed's worst case), the
    window still starts with a question, so Gemma 3's template keeps the system prompt:
    the prompt is longer by the system text. The seed's window, [system, assistant, user],
    made both prompts the same size."""
    server = make_server(ollama_url=REAL_URL, MAX_HISTORY=2, READ_TIMEOUT=REPLY_TIMEOUT,
                         KEEP_MODELS_ON_LEAVE=True)
    user = BrowserClient(server)
    ws = user.socket()
    counts = []
    for system in (None, SYSTEM):
        cid = user.http.post(server.url + "/api/conversations", json={
            "system": system, "settings": {"trim": "sliding"}}).json()["id"]
        for text in ("Hello there", "Where do you sail?"):
            ws.send({"type": "chat", "text": text, "model": GEMMA, "conversation": cid,
                     "options": {"num_predict": 2, "temperature": 0}})
            frames = ws.recv_until("done", "error", timeout=REPLY_TIMEOUT)
            assert frames[-1]["type"] == "done", frames[-1]
        sent = user.stored_request(user.history(cid), -1)["messages"]
        # The last 2 messages begin with a reply: its question comes along.
        assert [m["role"] for m in sent if m["role"] != "system"] == [
            "user", "assistant", "user"]
        counts.append(frames[-1]["stats"]["prompt_eval_count"])
    without, with_system = counts
    assert with_system >= without + 10, counts
