"""The JSON endpoints and the seed's commands against the stand-in: through Flask's test
client where no socket is needed, on a live server where one is."""

from __future__ import annotations

from .support.live import BrowserClient, wait_until


def test_models_lists_what_ollama_has(client):
    names = [m["name"] for m in client.get("/api/models").json["models"]]
    assert "gemma3:270m" in names and "tiny-assistant:latest" in names


def test_loaded_shows_size_split_and_expiry(fake_ollama, user, live_server):
    assert user.http.get(live_server.url + "/api/loaded").json() == {"models": []}
    user.socket().chat("load it", keep_alive=-1)
    models = user.http.get(live_server.url + "/api/loaded").json()["models"]
    assert [m["name"] for m in models] == ["gemma3:270m"]
    assert models[0]["processor"] == "100% CPU" and models[0]["size_mb"] > 0
    assert models[0]["expires_never"] is True


def test_loaded_reports_a_gpu_split(fake_ollama, user, live_server):
    fake_ollama.gpu_fraction = 0.52
    user.socket().chat("load it")
    model = user.http.get(live_server.url + "/api/loaded").json()["models"][0]
    assert model["processor"] == "48%/52% CPU/GPU"
    assert model["expires_at"] and not model["expires_never"]


def test_unload_empties_ps(fake_ollama, user, live_server):
    user.socket().chat("load it")
    assert fake_ollama.loaded_names() == ["gemma3:270m"]
    response = user.http.post(live_server.url + "/api/unload", json={"model": "gemma3:270m"})
    assert response.status_code == 200
    body = response.json()
    assert (body["unloaded"], body["gone"], body["deferred"]) == ("gemma3:270m", True, False)
    assert "Released" in body["message"]
    assert fake_ollama.loaded_names() == []
    assert user.http.get(live_server.url + "/api/loaded").json() == {"models": []}
    assert fake_ollama.unloads == ["gemma3:270m"]


def test_unload_of_a_model_not_loaded_says_so(fake_ollama, user, live_server):
    response = user.http.post(live_server.url + "/api/unload", json={"model": "gemma3:270m"})
    body = response.json()
    assert (body["gone"], body["was_loaded"]) == (True, False)  # not in memory, as before
    assert "was not loaded" in body["message"] and "Released" not in body["message"]
    ws = user.socket()
    ws.send({"type": "chat", "text": "/unload", "model": "gemma3:270m"})
    assert "nothing to release" in ws.recv_until("info")[-1]["text"]


def test_unload_errors_are_json(client):
    url = "/api/unload"
    unknown = client.post(url, json={"model": "nope"})
    assert unknown.status_code == 404 and "not found" in unknown.json["error"]
    for body in ({"model": "../../x"}, {"model": "http://evil.example/x"}, {}, [1]):
        bad = client.post(url, json=body)
        assert bad.status_code == 400 and "model" in bad.json["error"].lower()
    not_json = client.post(url, data="model=x")
    assert not_json.status_code == 400 and "error" in not_json.json
    assert client.get(url).status_code == 405
    assert client.get("/api/nothing").json["error"]


def test_models_when_ollama_is_down(fake_ollama, client):
    fake_ollama.stop()
    response = client.get("/api/models")
    assert response.status_code == 503
    assert "Cannot reach Ollama" in response.json["error"]


def test_seed_commands(fake_ollama, user):
    ws = user.socket()
    ws.chat("hello")
    ws.send({"type": "chat", "text": "/models", "model": "gemma3:270m"})
    info = ws.recv()
    assert info["command"] == "models" and "gemma3:270m" in info["text"]
    assert info["models"][0]["name"] == "gemma3:270m"

    ws.send({"type": "chat", "text": "/unload", "model": "gemma3:270m"})
    info = ws.recv()
    assert info["command"] == "unload" and info["unloaded"] is True
    assert fake_ollama.loaded_names() == []
    ws.send({"type": "chat", "text": "/models", "model": "gemma3:270m"})
    assert ws.recv()["text"] == "No models are currently loaded."

    ws.chat("load again")
    ws.send({"type": "chat", "text": "/exit", "model": "gemma3:270m"})
    info = ws.recv()
    assert info["command"] == "exit" and info["unloaded"] == ["gemma3:270m"]
    assert "unloaded 'gemma3:270m'" in info["text"]
    assert "ended" not in info["text"] and "conversations stay" in info["text"]  # truthful
    assert wait_until(lambda: fake_ollama.loaded_names() == [])

    ws.send({"type": "chat", "text": "/clear", "model": "gemma3:270m"})
    cleared = ws.recv()
    assert cleared == {"type": "cleared", "undo": cleared["undo"], "undo_seconds": 600}
    assert user.history()["messages"] == []

    ws.send({"type": "chat", "text": "/help", "model": "gemma3:270m"})
    assert "/unload" in ws.recv()["text"]


def test_text_that_only_looks_like_a_command_is_a_message(fake_ollama, user):
    frames = user.socket().chat("/etc/hosts: what is this file?")
    assert frames[-1]["type"] == "done"
    sent = fake_ollama.last_payload("/api/chat")["messages"][-1]["content"]
    assert sent == "/etc/hosts: what is this file?"


def test_page_gives_a_session_cookie(app):
    response = app.test_client().get("/")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "webchat_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert 'type="module"' in response.text


def test_show_describes_a_model(client):
    url = "/api/show"
    body = client.get(url, query_string={"model": "thinker:latest"}).json
    assert (body["family"], body["context_length"]) == ("qwen3", 40960)
    assert body["capabilities"] == ["completion", "thinking"]
    assert (body["parameter_size"], body["quantization_level"]) == ("751.63M", "Q4_K_M")
    assert client.get(url, query_string={"model": "nope"}).status_code == 404
    bad = client.get(url, query_string={"model": "../x"})
    assert bad.status_code == 400 and "model" in bad.json["error"]


def test_history_is_light_and_the_inspector_fetches_the_request(live_server, fake_ollama):
    alice = BrowserClient(live_server)
    alice.socket().chat("what is sent?")
    history = alice.history()
    reply = history["messages"][1]
    assert reply["request"] is None and reply["has_request"] is True
    url = (f"{live_server.url}/api/conversations/{history['conversation']}"
           f"/messages/{reply['id']}")
    whole = alice.http.get(url).json()
    assert whole["request"]["messages"][-1] == {"role": "user", "content": "what is sent?"}
    assert whole["request"] == fake_ollama.last_payload("/api/chat")
    bob = BrowserClient(live_server)
    assert bob.http.get(url).status_code == 404
    missing = alice.http.get(url.rsplit("/", 1)[0] + "/999999")
    assert missing.status_code == 404 and "error" in missing.json()
