"""Sharing on a LAN: the access token, limits, and fair release of models."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
import requests
import simple_websocket

from webchat.guard.auth import GUESS_DELAY

from .support.live import (
    BrowserClient,
    ChatSocket,
    LiveServer,
    reply_text,
    start_run_py,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lan_server(make_server):
    """The app listening on every interface, so it asks for a token."""
    server = make_server(HOST="0.0.0.0")
    return server


def token_of(server: LiveServer) -> str:
    return server.app.config["ACCESS_TOKEN"]


def test_token_is_made_once_and_kept_private(lan_server, tmp_path):
    path = tmp_path / "data" / "access_token"
    assert path.read_text().strip() == token_of(lan_server)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(token_of(lan_server)) >= 24


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_request_needs_the_token(lan_server, token):
    query = f"?token={token}" if token else ""
    status = 403 if token else 401
    page = requests.get(lan_server.url + "/" + query, timeout=5, allow_redirects=False)
    assert page.status_code == status
    assert "Access token needed" in page.text and "<form" in page.text
    assert "Traceback" not in page.text
    api = requests.get(lan_server.url + "/api/history" + query, timeout=5)
    assert api.status_code == status and "token" in api.json()["error"]
    unload = requests.post(lan_server.url + "/api/unload" + query, json={"model": "x"})
    assert unload.status_code == status
    with pytest.raises(simple_websocket.ConnectionError, match=str(status)):
        ChatSocket(lan_server.ws_url + query, "")


def test_the_printed_token_opens_everything(lan_server, fake_ollama):
    http = requests.Session()
    first = http.get(f"{lan_server.url}/?token={token_of(lan_server)}", allow_redirects=False)
    assert first.status_code == 303 and first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert token_of(lan_server) not in cookie  # proof of the token, not the token
    assert http.get(lan_server.url + "/").status_code == 200
    assert http.get(lan_server.url + "/api/history").status_code == 200
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    assert reply_text(ChatSocket(lan_server.ws_url, cookies).chat("hi")) == "You said: hi"


def test_a_token_flag_replaces_the_stored_one(make_server):
    server = make_server(HOST="0.0.0.0", TOKEN="s3cret-tok")
    assert requests.get(server.url + "/?token=s3cret-tok").status_code == 200
    assert requests.get(server.url + "/api/models").status_code == 401


def test_wrong_tokens_are_slowed_and_the_right_one_still_opens(lan_server):
    """Behind a reverse proxy everyone shares 127.0.0.1: ten wrong guesses used to lock
    every new login out for 5 minutes."""
    for _ in range(10):
        assert requests.get(lan_server.url + "/?token=guess").status_code == 403
    started = time.monotonic()
    limited = requests.get(lan_server.url + "/?token=guess", timeout=30)
    assert limited.status_code == 429 and "Too many wrong tokens" in limited.text
    assert time.monotonic() - started >= GUESS_DELAY  # wrong ones are slowed
    for query in (token_of(lan_server), lan_server.app.config["ADMIN_TOKEN"]):
        http = requests.Session()
        right = http.get(f"{lan_server.url}/?token={query}", timeout=5)
        assert right.status_code == 200 and "Access token needed" not in right.text
        assert http.get(lan_server.url + "/api/history", timeout=5).status_code == 200
    bearer = requests.get(lan_server.url + "/api/pulls", timeout=5,
                          headers={"Authorization": f"Bearer {token_of(lan_server)}"})
    assert bearer.status_code == 200


def test_no_auth_serves_the_lan_openly(make_server):
    server = make_server(HOST="0.0.0.0", NO_AUTH=True)
    assert requests.get(server.url + "/api/models").status_code == 200


def test_forged_or_foreign_session_cookie_sees_nothing(live_server, fake_ollama):
    alice = BrowserClient(live_server)
    alice.socket().chat("alice's diary")
    name, value = next((c.name, c.value) for c in alice.http.cookies)
    forged = requests.Session()
    forged.cookies.set(name, value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    history = forged.get(live_server.url + "/api/history").json()
    assert history["messages"] == []
    forged_ws = ChatSocket(live_server.ws_url, f"{name}={value[:-4]}AAAA")
    assert forged_ws.recv()["code"] == "no_session"


def test_messages_per_minute_are_limited(make_server):
    server = make_server(MESSAGES_PER_MINUTE=3)
    ws = BrowserClient(server).socket()
    for i in range(3):
        assert ws.chat(f"m{i}")[-1]["type"] == "done"
    refused = ws.chat("one too many")[-1]
    assert refused["code"] == "rate_limited" and "at most 3 a minute" in refused["message"]
    ws.send({"type": "clear"})
    assert ws.recv()["type"] == "cleared"  # the socket is still fine


def test_sockets_per_browser_and_in_total_are_limited(make_server):
    server = make_server(SOCKETS_PER_SESSION=2, SOCKETS_TOTAL=3)
    alice = BrowserClient(server)
    first, second = alice.socket(), alice.socket()
    # the client's handshake can finish before the server thread counts the socket
    assert wait_until(lambda: server.services.sockets.total == 2)
    refused = alice.socket().recv()
    assert refused["code"] == "too_many_sockets" and "limit 2" in refused["message"]
    bob = BrowserClient(server)
    bob.socket().chat("hi")
    assert bob.socket().recv()["code"] == "too_many_sockets"  # 3 in total
    first.close()
    assert wait_until(lambda: server.services.sockets.total == 2)
    assert alice.socket().chat("room again")[-1]["type"] == "done"
    second.close()


def test_model_is_unloaded_when_its_last_user_leaves(make_server, fake_ollama):
    server = make_server(UNLOAD_GRACE=0.3)
    alice, bob = BrowserClient(server), BrowserClient(server)
    alice_ws, bob_ws = alice.socket(), bob.socket()
    alice_ws.chat("hi")
    bob_ws.chat("hello")
    alice_ws.close()
    assert not wait_until(lambda: fake_ollama.unloads, timeout=1.0)  # bob still uses it
    bob_ws.close()
    assert wait_until(lambda: fake_ollama.unloads == ["gemma3:270m"], timeout=3)
    assert wait_until(lambda: fake_ollama.loaded_names() == [])


def test_coming_back_within_the_grace_period_keeps_the_model(make_server, fake_ollama):
    server = make_server(UNLOAD_GRACE=0.5)
    alice = BrowserClient(server)
    ws = alice.socket()
    ws.chat("hi")
    ws.close()
    alice.socket()  # a page reload
    assert not wait_until(lambda: fake_ollama.unloads, timeout=1.2)


def test_unload_on_leave_can_be_turned_off(make_server, fake_ollama):
    server = make_server(UNLOAD_GRACE=0.1, KEEP_MODELS_ON_LEAVE=True)
    ws = BrowserClient(server).socket()
    ws.chat("hi")
    ws.close()
    assert not wait_until(lambda: fake_ollama.unloads, timeout=0.8)


def test_exit_keeps_a_model_another_session_uses(live_server, fake_ollama):
    alice, bob = BrowserClient(live_server).socket(), BrowserClient(live_server).socket()
    alice.chat("hi")
    bob.chat("hello")
    alice.send({"type": "chat", "text": "/exit", "model": "gemma3:270m"})
    info = alice.recv()
    assert info["unloaded"] == [] and info["kept"] == ["gemma3:270m"]
    assert "another session is using it" in info["text"]
    assert fake_ollama.loaded_names() == ["gemma3:270m"]
    bob.send({"type": "chat", "text": "/exit", "model": "gemma3:270m"})
    assert bob.recv()["unloaded"] == ["gemma3:270m"]


def test_unloading_a_model_someone_is_using_waits_for_their_reply(live_server, fake_ollama):
    bob = BrowserClient(live_server).socket()
    alice = BrowserClient(live_server)
    fake_ollama.script(tokens=[" w"] * 40, delay=0.02)
    bob.send({"type": "chat", "text": "long", "model": "gemma3:270m"})
    frames = bob.recv_until("chunk")
    response = alice.http.post(live_server.url + "/api/unload", json={"model": "gemma3:270m"})
    body = response.json()
    assert body["deferred"] is True and body["gone"] is False
    assert "as soon as that reply ends" in body["message"]
    loaded = alice.http.get(live_server.url + "/api/loaded").json()["models"]
    assert loaded[0]["unloading"] is True  # what the sidebar shows
    frames += bob.recv_until("done", "error")
    assert frames[-1]["type"] == "done" and reply_text(frames) == " w" * 40
    assert wait_until(lambda: fake_ollama.loaded_names() == [])


@pytest.mark.parametrize("keep", [False, True])
def test_sigterm_unloads_what_this_server_loaded(tmp_path, fake_ollama, keep):
    flags = ["--keep-models-on-shutdown"] if keep else []
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, *flags)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        http = requests.Session()
        http.get(url + "/")
        cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        ChatSocket(url.replace("http", "ws") + "/ws", cookies).chat("load it")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    assert fake_ollama.unloads == ([] if keep else ["gemma3:270m"])


def test_lan_start_prints_the_admin_link_first_then_the_share_link(tmp_path, fake_ollama):
    """The owner opens the first link printed: it must be theirs, not the guests' (which
    loses Pull and Delete); /api/me then tells the page which role it has."""
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--lan")
    try:
        token = (tmp_path / "data" / "access_token").read_text().strip()
        admin_token = (tmp_path / "data" / "admin_token").read_text().strip()
        links = [line for line in lines if "/?token=" in line]
        assert links[0].startswith("  Your admin link (keep it")
        assert "http://127.0.0.1:" in links[0] and f"/?token={admin_token}" in links[0]
        assert links[1:] and all(line.startswith("  Share link (guests): ") and
                                 line.rstrip().endswith(f"/?token={token}")
                                 for line in links[1:]), links
        for line, role in ((links[0], "admin"), (links[1], "guest")):
            http = requests.Session()
            url = re.search(r"http://\S+", line).group(0)
            assert http.get(url, timeout=5).status_code == 200
            me = http.get(url.split("?")[0] + "api/me", timeout=5).json()
            assert me["role"] == role, (line, me)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--lan", "--no-auth")
    try:
        assert "token" not in lines[0]
        assert any(line.startswith("WARNING: --no-auth") for line in lines)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
