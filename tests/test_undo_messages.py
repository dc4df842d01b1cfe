"""Nothing is lost by a click: Delete under the last reply and `/clear` keep what they
remove for the undo window (`Aside`, webchat/store/conversations.py), Undo puts it back
exactly, versions and title included, and the purge forgets it after. Real server, real
sockets."""

from __future__ import annotations

from webchat.store.retention import purge_deleted

from .support.live import reply_text

MODEL = "gemma3:270m"


def api(user, method, path, **kwargs):
    return user.http.request(method, user.server.url + path, timeout=5, **kwargs)


def new_conversation(user) -> int:
    response = api(user, "POST", "/api/conversations", json={})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def stored(user, cid: int) -> list[dict]:
    """Every version of every message, as the JSON export holds them."""
    response = api(user, "GET", f"/api/conversations/{cid}/export?format=json")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def with_versions(user, fake_ollama) -> tuple[int, object]:
    """A conversation whose last reply has two versions."""
    cid = new_conversation(user)
    ws = user.socket()
    ws.chat("zebra first", conversation=cid)
    ws.chat("quokka second", conversation=cid)
    fake_ollama.script(tokens=[" wombat again"])
    ws.send({"type": "regenerate", "conversation": cid, "model": MODEL})
    assert reply_text(ws.recv_until("done")) == " wombat again"
    return cid, ws


def search(user, word: str) -> list:
    return api(user, "GET", f"/api/search?q={word}").json()["hits"]


def age_everything_aside(live_server) -> int:
    """Make every kept-aside row older than the undo window, then purge as the server does."""
    db = live_server.services.sessions.db
    with db.transaction() as conn:
        conn.execute("UPDATE conversations SET deleted_at = deleted_at - 601 "
                     "WHERE aside_of IS NOT NULL")
    return purge_deleted(db)


def test_delete_last_then_undo_restores_every_version(fake_ollama, user):
    cid, ws = with_versions(user, fake_ollama)
    before_history = user.history(cid)["messages"]
    before_all = stored(user, cid)
    assert len(before_all) == 5  # two questions, three replies

    other_tab = user.socket()
    other_tab.send({"type": "watch"})
    other_tab.recv_until("loaded")  # served from now on: it hears what this browser does
    ws.send({"type": "delete_last", "conversation": cid})
    deleted = ws.recv_until("deleted")[-1]
    assert deleted["undo_seconds"] == 600 and isinstance(deleted["undo"], int)
    seen = other_tab.recv_until("deleted")[-1]
    assert (seen["undo"], seen["elsewhere"]) == (deleted["undo"], True)

    # While deleted: not shown, not exported, not searched, not counted, not sent.
    assert [m["content"] for m in user.history(cid)["messages"]] == [
        "zebra first", "You said: zebra first"]
    assert len(stored(user, cid)) == 2
    assert search(user, "quokka") == [] and search(user, "wombat") == []
    listed = api(user, "GET", "/api/conversations").json()["conversations"]
    assert [(c["id"], c["messages"]) for c in listed] == [(cid, 2)]
    ws.chat("next", conversation=cid)
    assert [m["content"] for m in fake_ollama.last_payload("/api/chat")["messages"]] == [
        "zebra first", "You said: zebra first", "next"]
    ws.send({"type": "delete_last", "conversation": cid})  # the new exchange
    newer = ws.recv_until("deleted")[-1]

    ws.send({"type": "undo", "undo": newer["undo"]})
    assert ws.recv_until("restored")[-1]["conversation"] == cid
    ws.send({"type": "delete_last", "conversation": cid})
    ws.recv_until("deleted")

    ws.send({"type": "undo", "undo": deleted["undo"]})
    restored = ws.recv_until("restored")[-1]
    assert restored["ids"] == [m["id"] for m in before_all[2:]]
    other_tab.recv_until("restored")  # the newer exchange's Undo, then this one
    assert other_tab.recv_until("restored")[-1]["ids"] == restored["ids"]
    assert user.history(cid)["messages"] == before_history
    assert stored(user, cid) == before_all
    assert len(search(user, "quokka")) == 2  # the question, and its echo in a reply

    ws.send({"type": "undo", "undo": deleted["undo"]})  # twice: nothing left to put back
    assert ws.recv_until("error")[-1]["code"] == "undo_expired"


def test_clear_then_undo_restores_the_conversation_and_its_title(fake_ollama, user):
    cid, ws = with_versions(user, fake_ollama)
    before_history = user.history(cid)["messages"]
    before_all = stored(user, cid)
    title = api(user, "GET", f"/api/conversations/{cid}").json()["title"]
    assert title == "zebra first"

    ws.send({"type": "chat", "text": "/clear", "model": MODEL, "conversation": cid})
    cleared = ws.recv_until("cleared")[-1]
    assert user.history(cid)["messages"] == [] and search(user, "zebra") == []
    assert api(user, "GET", f"/api/conversations/{cid}").json()["title"] == ""
    ws.chat("a fresh start", conversation=cid)  # names the conversation anew
    assert api(user, "GET", f"/api/conversations/{cid}").json()["title"] == "a fresh start"
    assert [m["content"] for m in fake_ollama.last_payload("/api/chat")["messages"]] == [
        "a fresh start"]
    ws.send({"type": "delete_last", "conversation": cid})
    ws.recv_until("deleted")

    ws.send({"type": "undo", "undo": cleared["undo"]})
    ws.recv_until("restored")
    assert user.history(cid)["messages"] == before_history
    assert stored(user, cid) == before_all
    assert api(user, "GET", f"/api/conversations/{cid}").json()["title"] == title


def test_after_the_window_what_was_kept_is_purged(fake_ollama, user, live_server):
    cid, ws = with_versions(user, fake_ollama)
    ws.send({"type": "delete_last", "conversation": cid})
    deleted = ws.recv_until("deleted")[-1]
    ws.send({"type": "clear", "conversation": cid})
    cleared = ws.recv_until("cleared")[-1]

    assert age_everything_aside(live_server) == 2
    db = live_server.services.sessions.db
    assert db.query("SELECT count(*) AS n FROM messages")[0]["n"] == 0
    for token in (deleted["undo"], cleared["undo"]):
        ws.send({"type": "undo", "undo": token})
        assert ws.recv_until("error")[-1]["code"] == "undo_expired"
    assert user.history(cid)["messages"] == []


def test_what_is_kept_aside_never_counts_toward_the_conversation_limit(make_server,
                                                                        fake_ollama):
    from .support.live import BrowserClient
    server = make_server(MAX_CONVERSATIONS=2)
    user = BrowserClient(server)
    cid = new_conversation(user)
    ws = user.socket()
    for _ in range(3):
        ws.chat("hello", conversation=cid)
        ws.send({"type": "delete_last", "conversation": cid})
        ws.recv_until("deleted")
    assert api(user, "POST", "/api/conversations", json={}).status_code == 201
    user.close()
