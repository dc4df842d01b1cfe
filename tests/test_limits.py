"""Limits that hold against fresh cookies: rows, per-address caps, image quotas."""

from __future__ import annotations

import base64
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from webchat.store.retention import prune_empty_sessions

from .support.data import tiny_png
from .support.live import BrowserClient, ChatSocket, LiveServer, wait_until


def count(server: LiveServer, table: str) -> int:
    return server.services.sessions.db.query(f"SELECT count(*) FROM {table}")[0][0]


def upload(user: BrowserClient, data: bytes) -> requests.Response:
    return user.http.post(user.server.url + "/api/uploads", data=data, timeout=5,
                          headers={"Content-Type": "image/png"})


def test_no_row_until_a_browser_stores_something(live_server):
    for _ in range(30):
        assert requests.get(live_server.url + "/", timeout=5).status_code == 200
    assert count(live_server, "sessions") == 0
    user = BrowserClient(live_server)
    assert count(live_server, "sessions") == 0
    assert upload(user, tiny_png()).status_code == 201
    assert count(live_server, "sessions") == 1


def rows_on_disk(server: LiveServer) -> dict[str, int]:
    """What the SQLite file in the data folder holds, read by a connection of its own."""
    with sqlite3.connect(Path(server.config["DATA_DIR"]) / "webchat.sqlite3") as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("sessions", "conversations", "messages")}


def test_reads_write_nothing_and_the_first_chat_writes_once(live_server, fake_ollama):
    user = BrowserClient(live_server)  # GET /
    for path in ("/api/history", "/api/conversations", "/api/models", "/api/loaded",
                 "/api/search?q=x", "/api/me", "/api/history"):
        assert user.http.get(live_server.url + path, timeout=5).status_code == 200, path
    empty = user.history()
    assert empty["conversation"] is None and empty["messages"] == []
    assert (empty["title"], empty["system"], empty["settings"]) == ("", None, {})
    assert empty["generating"] is False
    ws = user.socket()
    ws.send({"type": "watch", "replies": True})
    ws.recv_until("loaded")
    for frame in ({"type": "clear"}, {"type": "delete_last"}, {"type": "regenerate",
                                                                "model": "gemma3:270m"},
                  {"type": "chat", "text": "refused", "model": "no such model!"}):
        ws.send(frame)
    assert ws.recv()["type"] == "cleared"
    assert [ws.recv()["code"] for _ in range(3)] == ["not_found", "not_found", "invalid"]
    assert rows_on_disk(live_server) == {"sessions": 0, "conversations": 0, "messages": 0}
    frames = ws.chat("the first write")
    assert frames[-1]["type"] == "done"
    assert rows_on_disk(live_server) == {"sessions": 1, "conversations": 1, "messages": 2}
    assert user.history()["conversation"] == frames[0]["conversation"]
    user.close()


def test_empty_browsers_are_pruned_and_others_kept(live_server, user, fake_ollama):
    for _ in range(5):  # cookie-less browsers that make an empty conversation each
        assert requests.post(live_server.url + "/api/conversations", json={},
                             timeout=5).status_code == 201
    user.socket().chat("keep me")
    assert count(live_server, "sessions") == 6
    db = live_server.services.sessions.db
    assert prune_empty_sessions(db, older_than=3600) == 0  # too young
    assert prune_empty_sessions(db, older_than=-1) == 5
    assert len(user.history()["messages"]) == 2


@pytest.fixture
def capped(make_server):
    server = make_server(PEER_LIMITS_ON_LOOPBACK=True, NEW_SESSIONS_PER_MINUTE=3,
                         SOCKETS_PER_ADDRESS=2, MESSAGES_PER_ADDRESS=3)
    return server


def test_one_address_cannot_dodge_limits_with_fresh_cookies(capped):
    browsers = [BrowserClient(capped) for _ in range(3)]
    refused = requests.get(capped.url + "/api/models", timeout=5)
    assert refused.status_code == 429 and "new browsers" in refused.json()["error"]
    first, second = browsers[0].socket(), browsers[1].socket()
    # the handshake can end before the server's thread has counted the socket
    peers = capped.app.extensions["webchat"].peers
    assert wait_until(lambda: peers.sockets_open("127.0.0.1") == 2)
    third = ChatSocket(capped.ws_url, browsers[2].cookie)
    frame = third.recv()
    assert frame["code"] == "too_many_sockets" and "address" in frame["message"]
    third.close()
    sent = [first.chat("one"), second.chat("two"), first.chat("three"), second.chat("four")]
    assert [frames[-1]["type"] for frames in sent] == ["done", "done", "done", "error"]
    assert sent[-1][-1]["code"] == "rate_limited" and "address" in sent[-1][-1]["message"]


def test_image_quota_per_browser_and_in_total(make_server):
    png = tiny_png()
    server = make_server(UPLOAD_QUOTA_BYTES=len(png) * 2, UPLOADS_TOTAL_BYTES=len(png) * 3)
    one, two = BrowserClient(server), BrowserClient(server)
    assert [upload(one, png).status_code for _ in range(3)] == [201, 201, 413]
    assert "limit" in upload(one, png).json()["error"]
    assert [upload(two, png).status_code for _ in range(2)] == [201, 413]
    assert "full" in upload(two, png).json()["error"]


def imported_with_image(user: BrowserClient) -> int:
    body = {"format": "ollama-webchat/1", "title": "pic", "messages": [
        {"role": "user", "content": "see", "images": [
            {"mime": "image/png", "data": base64.b64encode(tiny_png()).decode()}]},
        {"role": "assistant", "content": "a dot"}]}
    response = user.http.post(user.server.url + "/api/conversations/import", json=body,
                              timeout=5)
    assert response.status_code == 201
    return response.json()["id"]


def test_images_go_with_their_messages(live_server, user):
    cid = imported_with_image(user)
    assert count(live_server, "uploads") == 1
    ws = user.socket()
    ws.send({"type": "clear", "conversation": cid})
    assert ws.recv()["type"] == "cleared"
    assert count(live_server, "uploads") == 1  # kept for the clear's undo

    cid = imported_with_image(user)
    url = f"{live_server.url}/api/conversations/{cid}"
    assert user.http.delete(url, timeout=5).status_code == 200
    assert count(live_server, "uploads") == 2  # kept for the undo, as the cleared one
    with live_server.services.sessions.db.transaction() as conn:
        conn.execute("UPDATE conversations SET deleted_at = ? WHERE deleted_at IS NOT NULL",
                     (time.time() - 3600,))
    user.http.get(live_server.url + "/api/conversations", timeout=5)
    assert count(live_server, "uploads") == 2  # a read writes nothing
    user.http.post(live_server.url + "/api/conversations", json={}, timeout=5)
    assert count(live_server, "uploads") == 0  # the next one made purges past its undo
