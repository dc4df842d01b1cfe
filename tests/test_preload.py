"""POST /api/load: a picked model is loaded before the first message."""

from __future__ import annotations

import threading
from typing import Any

from .support.live import BrowserClient, wait_until


def _load_in_background(user: BrowserClient, body: dict[str, Any]) -> dict[str, Any]:
    """Start a preload in a thread; the returned dict gets its answer."""
    answer: dict[str, Any] = {}

    def run() -> None:
        response = user.http.post(user.server.url + "/api/load", json=body, timeout=10)
        answer.update(status=response.status_code, body=response.json())

    threading.Thread(target=run, daemon=True).start()
    return answer


def test_load_uses_the_conversations_keep_alive(fake_ollama, client):
    cid = client.post("/api/conversations", json={"settings": {"keep_alive": -1}}).json["id"]
    response = client.post("/api/load", json={"model": "gemma3:270m", "conversation": cid})
    assert response.status_code == 200 and response.json["loaded"] is True
    assert fake_ollama.last_payload("/api/generate") == {
        "model": "gemma3:270m", "keep_alive": -1, "stream": True}
    loaded = client.get("/api/loaded").json["models"]
    assert [m["name"] for m in loaded] == ["gemma3:270m"] and loaded[0]["expires_never"]


def test_load_errors(fake_ollama, client):
    url = "/api/load"
    unknown = client.post(url, json={"model": "nope"})
    assert unknown.status_code == 404 and "not found" in unknown.json["error"]
    for body in ({"model": "../../x"}, {}, [1]):
        bad = client.post(url, json=body)
        assert bad.status_code == 400 and "model" in bad.json["error"].lower()
    other = client.post(url, json={"model": "gemma3:270m", "conversation": 999})
    assert other.status_code == 404
    foreign = client.post(url, json={"model": "gemma3:270m"},
                          headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    fake_ollama.stop()
    down = client.post(url, json={"model": "gemma3:270m"})
    assert down.status_code == 503 and "Cannot reach Ollama" in down.json["error"]


def test_no_preload_turns_it_off(make_server, fake_ollama):
    server = make_server(NO_PRELOAD=True)
    user = BrowserClient(server)
    page = user.http.get(server.url + "/").text
    assert 'data-load-on-pick="off"' in page
    response = user.http.post(server.url + "/api/load", json={"model": "gemma3:270m"})
    assert response.status_code == 409 and fake_ollama.loaded_names() == []


def test_unload_during_a_preload_wins(fake_ollama, user, live_server):
    fake_ollama.load_delay = 5.0
    answer = _load_in_background(user, {"model": "gemma3:270m"})
    assert wait_until(lambda: fake_ollama.active_streams == 1)
    response = user.http.post(live_server.url + "/api/unload", json={"model": "gemma3:270m"})
    assert response.status_code == 200
    assert wait_until(lambda: "body" in answer)
    assert answer["body"]["loaded"] is False and answer["body"]["cancelled"] == "unloaded"
    assert fake_ollama.wait_for_disconnect()
    assert fake_ollama.loaded_names() == []


def test_stop_cuts_a_preload(fake_ollama, user, live_server):
    fake_ollama.load_delay = 5.0
    ws = user.socket()
    answer = _load_in_background(user, {"model": "gemma3:270m"})
    assert wait_until(lambda: fake_ollama.active_streams == 1)
    ws.send({"type": "stop"})
    assert wait_until(lambda: "body" in answer)
    assert answer["body"]["cancelled"] == "stopped"
    assert fake_ollama.wait_for_disconnect()


def test_a_preloading_browser_counts_as_a_user(make_server, fake_ollama):
    server = make_server(UNLOAD_GRACE=0.2)
    alice, bob = BrowserClient(server), BrowserClient(server)
    alice_ws, bob_ws = alice.socket(), bob.socket()
    assert alice.http.post(server.url + "/api/load",
                           json={"model": "gemma3:270m"}).json()["loaded"]
    bob_ws.chat("hello")
    bob_ws.close()
    assert not wait_until(lambda: fake_ollama.unloads, timeout=0.6)  # alice uses it
    alice_ws.close()
    assert wait_until(lambda: fake_ollama.unloads == ["gemma3:270m"], timeout=3)
