"""Against a real Ollama: set WEBCHAT_TEST_OLLAMA_URL (e.g. http://127.0.0.1:11434)."""

from __future__ import annotations

from .live import BrowserClient, LiveServer, reply_text, wait_until
from .real import REAL_URL, needs_real_ollama

pytestmark = needs_real_ollama


def test_list_chat_unload_with_a_real_ollama(tmp_path):
    server = LiveServer(tmp_path / "data", REAL_URL, READ_TIMEOUT=300.0, CONNECT_TIMEOUT=5.0)
    try:
        user = BrowserClient(server)
        models = user.http.get(server.url + "/api/models").json()["models"]
        assert models, "the real Ollama has no models installed"
        model = models[0]["name"]
        frames = user.socket().chat("Say hello in one word.", model=model,
                                    options={"num_predict": 16})
        assert frames[-1]["type"] == "done", frames[-1]
        assert reply_text(frames) and frames[-1]["stats"]["eval_count"] > 0
        loaded = user.http.get(server.url + "/api/loaded").json()["models"]
        assert model in [m["name"] for m in loaded]
        response = user.http.post(server.url + "/api/unload", json={"model": model})
        assert response.status_code == 200 and response.json()["gone"] is True
        assert wait_until(lambda: model not in [
            m["name"] for m in user.http.get(server.url + "/api/loaded").json()["models"]])
    finally:
        server.stop()
