"""Session fixation: a browser id planted in someone's browser (another app on the same
host can set cookies: they ignore ports) must not become theirs when they open a link."""

from __future__ import annotations

import pytest
import requests

from .support.live import ChatSocket, LiveServer
from .support.roles import guest


@pytest.fixture
def shared(tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, HOST="0.0.0.0")
    yield server
    server.stop()


def cookie_of(http: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def sid_of(server: LiveServer, http: requests.Session) -> str:
    serializer = server.app.session_interface.get_signing_serializer(server.app)
    return serializer.loads(http.cookies["webchat_session"])["sid"]


def planted(server: LiveServer, attacker: requests.Session) -> requests.Session:
    """The victim's browser, holding a copy of the attacker's cookie."""
    victim = requests.Session()
    victim.cookies.update(attacker.cookies)  # the same cookie, as a browser would hold it
    return victim


def titles(server: LiveServer, http: requests.Session) -> list[str]:
    listed = http.get(server.url + "/api/conversations", timeout=5).json()
    return [c["title"] for c in listed["conversations"]]


@pytest.mark.parametrize("link", ["ADMIN_TOKEN", "ACCESS_TOKEN"])
def test_opening_a_link_gives_a_fresh_id_and_keeps_the_history(shared, link):
    attacker = guest(shared).http
    planted_sid = sid_of(shared, attacker)
    victim = planted(shared, attacker)
    ws = ChatSocket(shared.ws_url, cookie_of(victim))
    assert ws.chat("my own words")[-1]["type"] == "done"  # stored under the planted id
    ws.close()
    victim.get(f"{shared.url}/?token={shared.app.config[link]}", timeout=5).raise_for_status()
    assert sid_of(shared, victim) != planted_sid
    history = victim.get(shared.url + "/api/history", timeout=5).json()
    assert [m["content"] for m in history["messages"]] == ["my own words",
                                                           "You said: my own words"]
    victim.post(shared.url + "/api/conversations", json={"title": "after the link"},
                timeout=5)
    assert "after the link" in titles(shared, victim)
    # The planter's copy of the old id holds nothing of the victim's any more.
    assert titles(shared, attacker) == []
    hits = attacker.get(shared.url + "/api/search?q=words", timeout=5).json()["hits"]
    assert hits == []


def test_a_planted_cookie_does_not_become_the_admin(shared, fake_ollama):
    attacker = guest(shared).http
    victim = planted(shared, attacker)
    admin_link = f"{shared.url}/?token={shared.app.config['ADMIN_TOKEN']}"
    victim.get(admin_link, timeout=5).raise_for_status()
    assert victim.get(shared.url + "/api/me", timeout=5).json()["role"] == "admin"
    assert attacker.get(shared.url + "/api/me", timeout=5).json()["role"] == "guest"
    fake_ollama.add_model("spare:1b")
    refused = attacker.delete(shared.url + "/api/models", json={"model": "spare:1b"},
                              timeout=5)
    assert refused.status_code == 403
    again = victim.get(admin_link, timeout=5)  # opened twice: still the admin, one id
    assert again.status_code == 200
    assert victim.get(shared.url + "/api/me", timeout=5).json()["role"] == "admin"


def test_an_older_response_cannot_bring_back_the_old_cookie(shared):
    """Only a change of the session sends the cookie: a request the page sent before
    the admin link was opened answers without one."""
    browser = guest(shared).http
    assert "Set-Cookie" not in browser.get(shared.url + "/api/history", timeout=5).headers
    assert "Set-Cookie" not in browser.get(shared.url + "/api/models", timeout=5).headers


def test_the_admin_token_on_a_socket_moves_nothing(shared):
    """A socket's answer cannot set a cookie: renewing the id there would leave the
    browser on its old id with its conversations moved away."""
    browser = guest(shared).http
    browser.post(shared.url + "/api/conversations", json={"title": "mine"}, timeout=5)
    ws = ChatSocket(f"{shared.ws_url}?token={shared.app.config['ADMIN_TOKEN']}",
                    cookie_of(browser))
    ws.send({"type": "clear"})
    assert ws.recv()["type"] == "cleared"
    ws.close()
    assert titles(shared, browser) == ["mine"]
