"""Guests and an admin on a shared server (webchat/roles.py)."""

from __future__ import annotations

import pytest
import requests

from .support.live import BrowserClient, LiveServer, start_run_py
from .support.roles import guest, unload

MODEL = "gemma3:270m"


@pytest.fixture
def shared(make_server):
    server = make_server(HOST="0.0.0.0")
    return server




def admin(server: LiveServer) -> BrowserClient:
    return BrowserClient(server, token=server.app.config["ADMIN_TOKEN"])


def me(client: BrowserClient) -> dict:
    return client.http.get(client.server.url + "/api/me", timeout=5).json()


def delete(client: BrowserClient, model: str) -> requests.Response:
    return client.http.delete(client.server.url + "/api/models", json={"model": model},
                              timeout=5)




def test_guests_may_not_pull_or_delete_and_the_admin_may(shared, fake_ollama):
    assert (shared.data_dir / "admin_token").stat().st_mode & 0o777 == 0o600
    visitor = guest(shared)
    assert me(visitor) == {"role": "guest", "manage_models": False, "cloud_models": False,
                           "reason": me(visitor)["reason"], "max_keep_alive": "30m"}
    assert "admin" in me(visitor)["reason"]
    refused = delete(visitor, MODEL)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    ws = visitor.socket()
    for frame in ({"type": "pull", "model": "new:1b"}, {"type": "pull_cancel", "model": "x"}):
        ws.send(frame)
        error = ws.recv()
        assert error["type"] == "error" and error["code"] == "forbidden"
    assert not [r for r in fake_ollama.requests if r[1] in ("/api/pull", "/api/delete")]

    boss = admin(shared)
    assert me(boss)["role"] == "admin" and me(boss)["manage_models"] is True
    assert me(visitor)["role"] == "guest"  # the admin link did not promote anyone else
    boss_ws = boss.socket()
    boss_ws.send({"type": "watch"})
    boss_ws.send({"type": "pull", "model": "new:1b"})
    assert boss_ws.recv_until("pull_done", timeout=10)[-1]["ok"] is True
    assert delete(boss, "new:1b").json() == {"deleted": "new:1b"}


def test_guests_manage_models_flag_and_the_loopback_user(make_server, fake_ollama, user):
    assert me(user)["role"] == "admin"  # loopback-only: the machine's own user
    server = make_server(HOST="0.0.0.0", GUESTS_MANAGE_MODELS=True)
    visitor = guest(server)
    assert me(visitor)["manage_models"] is True
    fake_ollama.add_model("spare:1b")
    assert delete(visitor, "spare:1b").status_code == 200


def test_a_guest_unloads_only_what_nobody_else_uses(shared, fake_ollama):
    first, second = guest(shared), guest(shared)
    first.socket().chat("load it")
    refused = unload(second, MODEL)
    assert refused.status_code == 403 and "Another browser" in refused.json()["error"]
    ws = second.socket()
    ws.send({"type": "chat", "text": f"/unload {MODEL}", "model": MODEL})
    error = ws.recv()
    assert error["type"] == "error" and error["code"] == "forbidden"
    assert fake_ollama.loaded_names() == [MODEL]
    assert unload(first, MODEL).status_code == 200  # only this browser used it


def test_guests_keep_alive_is_capped(shared, fake_ollama):
    guest(shared).socket().chat("pin it", keep_alive=-1)
    assert fake_ollama.last_payload("/api/chat")["keep_alive"] == 1800
    guest(shared).socket().chat("an hour", keep_alive="2h")
    assert fake_ollama.last_payload("/api/chat")["keep_alive"] == 1800
    guest(shared).socket().chat("short", keep_alive="5m")
    assert fake_ollama.last_payload("/api/chat")["keep_alive"] == "5m"
    admin(shared).socket().chat("pin it", keep_alive=-1)
    assert fake_ollama.last_payload("/api/chat")["keep_alive"] == -1


def test_pulls_from_other_registries_and_more_than_two_at_once(make_server, fake_ollama):
    server = make_server(ALLOW_PULL_FROM="ok.example")
    ws = BrowserClient(server).socket()
    ws.send({"type": "pull", "model": "evil.example/ns/model:1b"})
    error = ws.recv()
    assert error["code"] == "invalid" and "--allow-pull-from evil.example" in \
        error["message"]
    fake_ollama.pull_delay = 0.3
    for name in ("ok.example/ns/one:1b", "two:1b"):
        ws.send({"type": "pull", "model": name})
    ws.send({"type": "pull", "model": "three:1b"})
    frames = ws.recv_until("error")
    assert "most at once" in frames[-1]["message"]
    for name in ("ok.example/ns/one:1b", "two:1b"):
        ws.send({"type": "pull_cancel", "model": name})


def test_lan_banner_prints_the_admin_link(tmp_path, fake_ollama):
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--lan")
    try:
        admin_token = (tmp_path / "data" / "admin_token").read_text().strip()
        assert any("admin link" in line and f"?token={admin_token}" in line
                   for line in lines)
    finally:
        process.kill()
        process.wait(timeout=10)


CLOUD = "gpt-oss:120b-cloud"


def add_cloud_model(fake_ollama) -> None:
    """As Ollama lists one: a few hundred bytes, served by ollama.com."""
    fake_ollama.add_model(CLOUD, size=384, family="gptoss",
                          remote_host="https://ollama.com:443")


def test_cloud_models_are_marked(fake_ollama, user):
    add_cloud_model(fake_ollama)
    fake_ollama.add_model("qwen3-coder:480b-cloud")  # the name alone says so, too
    fake_ollama.add_model("kimi:cloud")
    listed = {m["name"]: m["cloud"]
              for m in user.http.get(user.server.url + "/api/models").json()["models"]}
    assert listed[CLOUD] is listed["qwen3-coder:480b-cloud"] is listed["kimi:cloud"] is True
    assert listed[MODEL] is listed["thinker:latest"] is False
    show = user.http.get(user.server.url + "/api/show", params={"model": CLOUD}).json()
    assert show["cloud"] is True
    assert user.http.get(user.server.url + "/api/show",
                         params={"model": MODEL}).json()["cloud"] is False


def test_a_guest_may_not_chat_with_a_cloud_model_and_the_admin_may(shared, fake_ollama):
    add_cloud_model(fake_ollama)
    visitor = guest(shared)
    assert me(visitor)["cloud_models"] is False
    ws = visitor.socket()
    frames = ws.chat("my private notes", model=CLOUD)
    assert [f["type"] for f in frames] == ["error"] and frames[0]["code"] == "forbidden"
    assert "ollama.com" in frames[0]["message"]
    assert "unless the admin lets guests" in frames[0]["message"]
    assert fake_ollama.last_payload("/api/chat") is None  # nothing left the machine
    assert visitor.history()["messages"] == []  # nor was it stored as sent
    assert ws.chat("hello")[-1]["type"] == "done"  # a local model still answers

    boss = admin(shared)
    assert me(boss)["cloud_models"] is True
    assert boss.socket().chat("hello cloud", model=CLOUD)[-1]["type"] == "done"
    assert fake_ollama.last_payload("/api/chat")["model"] == CLOUD


def test_allow_cloud_models_lets_guests_use_them(tmp_path, fake_ollama):
    add_cloud_model(fake_ollama)
    server = LiveServer(tmp_path / "data", fake_ollama.url, HOST="0.0.0.0",
                        ALLOW_CLOUD_MODELS=True)
    try:
        visitor = guest(server)
        assert me(visitor)["cloud_models"] is True
        assert visitor.socket().chat("hi", model=CLOUD)[-1]["type"] == "done"
    finally:
        server.stop()


def test_the_admin_switches_cloud_models_on_and_off_for_guests(shared, fake_ollama):
    """The admin's switch on the page (PUT /api/cloud-models) lets guests use cloud
    models without a restart, and takes it back; a guest cannot flip it."""
    add_cloud_model(fake_ollama)
    visitor, boss = guest(shared), admin(shared)
    url = shared.url + "/api/cloud-models"
    refused = visitor.http.put(url, json={"guests": True}, timeout=5)
    assert refused.status_code == 403 and "admin" in refused.json()["error"]
    assert me(visitor)["cloud_models"] is False
    assert boss.http.put(url, json={"guests": "yes"}, timeout=5).status_code == 400
    assert boss.http.put(url, data="{", headers={"Content-Type": "application/json"},
                         timeout=5).status_code == 400

    assert boss.http.put(url, json={"guests": True}, timeout=5).json() == {"guests": True}
    assert me(visitor)["cloud_models"] is True and me(boss)["guests_cloud_models"] is True
    ws = visitor.socket()
    assert ws.chat("hi cloud", model=CLOUD)[-1]["type"] == "done"

    assert boss.http.put(url, json={"guests": False}, timeout=5).json() == {"guests": False}
    assert me(visitor)["cloud_models"] is False
    assert ws.chat("again", model=CLOUD)[-1]["code"] == "forbidden"
