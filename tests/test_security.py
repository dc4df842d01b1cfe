"""Same-origin rules and response headers (the start of LAN-safe sharing)."""

from __future__ import annotations

import pytest
import simple_websocket

from .support.live import ChatSocket


@pytest.mark.parametrize("path", ["/", "/api/history", "/api/models", "/api/nothing",
                                  "/static/css/style.css"])
def test_security_headers_on_every_response(user, live_server, path):
    response = user.http.get(live_server.url + path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("origin", ["http://evil.example", "null",
                                    "http://127.0.0.1.evil.example"])
def test_socket_from_a_foreign_origin_is_refused(user, live_server, origin):
    with pytest.raises(simple_websocket.ConnectionError, match="403"):
        ChatSocket(live_server.ws_url, user.cookie, origin=origin)


def test_socket_from_its_own_origin_works(user, live_server, fake_ollama):
    own = ChatSocket(live_server.ws_url, user.cookie, origin=live_server.url)
    own.send({"type": "clear"})
    assert own.recv() == {"type": "cleared"}
    own.close()


def test_cross_site_unload_is_refused(user, live_server, fake_ollama):
    user.socket().chat("load")
    response = user.http.post(live_server.url + "/api/unload", json={"model": "gemma3:270m"},
                              headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert fake_ollama.loaded_names() == ["gemma3:270m"]
