"""Versions instead of loss: edits and regenerated replies are siblings in a tree."""

from __future__ import annotations

import sqlite3

from webchat.store.database import Database
from webchat.store.manager import SessionManager
from webchat.store.schema import MIGRATE_TO_2, SCHEMA

from .support.live import BrowserClient, reply_text

MODEL = "gemma3:270m"


def api(user, method, path, **kwargs):
    return user.http.request(method, user.server.url + path, timeout=5, **kwargs)


def contents(history) -> list[str]:
    return [m["content"] for m in history["messages"]]


def three_versions(fake_ollama, user) -> tuple[int, dict]:
    """one / You said: one / two → edited twice (deux, zwei) / its reply regenerated."""
    cid = api(user, "POST", "/api/conversations", json={}).json()["id"]
    ws = user.socket()
    ws.chat("one", conversation=cid)
    ws.chat("two", conversation=cid)
    two = user.history(cid)["messages"][2]["id"]
    for text in ("deux", "zwei"):
        ws.send({"type": "edit", "id": two, "text": text, "conversation": cid, "model": MODEL})
        frames = ws.recv_until("done")
        assert frames[0]["type"] == "start" and frames[0]["message_id"] > two
        assert reply_text(frames) == f"You said: {text}"
    fake_ollama.script(tokens=[" again"])
    ws.send({"type": "regenerate", "conversation": cid, "model": MODEL})
    assert reply_text(ws.recv_until("done")) == " again"
    return cid, user.history(cid)


def test_edit_twice_and_regenerate_keep_every_version(fake_ollama, user):
    cid, history = three_versions(fake_ollama, user)
    messages = history["messages"]
    assert contents(history) == ["one", "You said: one", "zwei", " again"]
    assert [m["versions"] for m in messages[:2]] == [None, None]
    assert messages[1]["id"] == messages[2]["parent_id"]
    question, answer = messages[2]["versions"], messages[3]["versions"]
    assert (question["index"], question["count"]) == (3, 3)
    assert (answer["index"], answer["count"]) == (2, 2)
    assert question["ids"][-1] == messages[2]["id"] and answer["ids"][-1] == messages[3]["id"]
    assert all(m["in_context"] for m in messages)
    # The conversation list still counts the messages stored, every version included.
    listed = api(user, "GET", "/api/conversations").json()["conversations"]
    assert [c["messages"] for c in listed if c["id"] == cid] == [9]


def test_switching_changes_what_is_shown_and_sent(fake_ollama, user):
    cid, history = three_versions(fake_ollama, user)
    first_two = history["messages"][2]["versions"]["ids"][0]
    switched = api(user, "POST", f"/api/conversations/{cid}/branch",
                   json={"message": first_two})
    assert switched.status_code == 200, switched.text
    assert contents(switched.json()) == ["one", "You said: one", "two", "You said: two"]
    assert switched.json()["messages"][2]["versions"]["index"] == 1
    assert contents(user.history(cid)) == contents(switched.json())
    # A message already in view (as a search hit may name) changes nothing.
    same = api(user, "POST", f"/api/conversations/{cid}/branch",
               json={"message": history["messages"][0]["id"]})
    assert contents(same.json()) == contents(switched.json())
    ws = user.socket()
    ws.chat("three", conversation=cid)
    sent = [m["content"] for m in fake_ollama.last_payload("/api/chat")["messages"]]
    assert sent == ["one", "You said: one", "two", "You said: two", "three"]
    history = user.history(cid)
    assert user.stored_request(history, 5)["messages"][-1]["content"] == "three"
    # Back to the newest version of the question: its newest reply comes with it.
    api(user, "POST", f"/api/conversations/{cid}/branch",
        json={"message": history["messages"][2]["versions"]["ids"][2]})
    assert contents(user.history(cid)) == ["one", "You said: one", "zwei", " again"]
    ws.send({"type": "regenerate", "conversation": cid, "model": MODEL})
    ws.recv_until("done")
    sent = [m["content"] for m in fake_ollama.last_payload("/api/chat")["messages"]]
    assert sent == ["one", "You said: one", "zwei"]
    assert user.history(cid)["messages"][3]["versions"]["count"] == 3


def test_exports_keep_the_tree_and_markdown_follows_the_view(fake_ollama, user):
    cid, history = three_versions(fake_ollama, user)
    exported = api(user, "GET", f"/api/conversations/{cid}/export?format=json").json()
    assert len(exported["messages"]) == 9
    assert exported["leaf_id"] == history["messages"][3]["id"]
    imported = api(user, "POST", "/api/conversations/import", json=exported)
    assert imported.status_code == 201, imported.text
    new_id = imported.json()["id"]
    again = api(user, "GET", f"/api/conversations/{new_id}/export?format=json").json()

    def shape(data):
        position = {m["id"]: i for i, m in enumerate(data["messages"])}
        return ([(m["role"], m["content"], position.get(m["parent_id"]))
                 for m in data["messages"]], position[data["leaf_id"]])

    assert shape(again) == shape(exported)
    copy = user.history(new_id)
    assert contents(copy) == contents(history)
    assert [m["versions"]["count"] for m in copy["messages"][2:]] == [3, 2]

    api(user, "POST", f"/api/conversations/{cid}/branch",
        json={"message": history["messages"][2]["versions"]["ids"][1]})
    md = api(user, "GET", f"/api/conversations/{cid}/export?format=md").text
    assert "deux" in md and "zwei" not in md and " again" not in md
    assert "_(version 2 of 3)_" in md


def test_import_checks_the_tree(fake_ollama, user):
    def attempt(messages, **extra):
        return api(user, "POST", "/api/conversations/import", json={
            "format": "ollama-webchat/1", "messages": messages, **extra})

    bad = attempt([{"role": "user", "content": "a", "id": 1, "parent_id": 7}])
    assert bad.status_code == 400 and "messages[0].parent_id" in bad.json()["error"]
    twice = attempt([{"role": "user", "content": "a", "id": 1},
                     {"role": "user", "content": "b", "id": 1, "parent_id": None}])
    assert twice.status_code == 400 and "messages[1].id" in twice.json()["error"]
    two_roots = attempt([{"role": "user", "content": "a", "id": 4, "parent_id": None},
                         {"role": "user", "content": "b", "id": 5, "parent_id": None}],
                        leaf_id=4)
    shown = user.history(two_roots.json()["id"])["messages"]
    assert [(m["content"], m["versions"]["index"]) for m in shown] == [("a", 1)]


def test_switching_is_checked(fake_ollama, live_server, user):
    cid, history = three_versions(fake_ollama, user)
    mine = history["messages"][0]["id"]
    other = BrowserClient(live_server)
    theirs = api(other, "POST", "/api/conversations", json={}).json()["id"]
    assert api(other, "POST", f"/api/conversations/{cid}/branch",
               json={"message": mine}).status_code == 404
    assert api(other, "POST", f"/api/conversations/{theirs}/branch",
               json={"message": mine}).status_code == 404
    elsewhere = api(user, "POST", "/api/conversations", json={}).json()["id"]
    for conversation, body, status in [(elsewhere, {"message": mine}, 404),
                                       (cid, {"message": 10**12}, 404),
                                       (10**12, {"message": mine}, 404),
                                       (cid, {"message": "1"}, 400),
                                       (cid, {"message": True}, 400),
                                       (cid, {}, 400), (cid, [1], 400)]:
        answer = api(user, "POST", f"/api/conversations/{conversation}/branch", json=body)
        assert answer.status_code == status, (conversation, body, answer.text)
        assert "error" in answer.json()
    assert contents(user.history(cid)) == contents(history)
    # Not while a reply runs in it.
    fake_ollama.script(tokens=[" t"] * 50, delay=0.01)
    ws = user.socket()
    ws.send({"type": "chat", "text": "long", "model": MODEL, "conversation": cid})
    ws.recv_until("chunk")
    busy = api(user, "POST", f"/api/conversations/{cid}/branch", json={"message": mine})
    assert busy.status_code == 400
    ws.recv_until("done")


def test_failed_regenerate_brings_the_earlier_reply_back(fake_ollama, user):
    ws = user.socket()
    ws.chat("hi")
    fake_ollama.script(tokens=[], error_after=0, error_message="model crashed")
    ws.send({"type": "regenerate", "model": MODEL})
    assert ws.recv_until("error")[-1]["code"] == "ollama"
    shown = user.history()["messages"]
    assert [(m["content"], m["status"]) for m in shown] == [("hi", "ok"),
                                                            ("You said: hi", "ok")]


def test_a_linear_history_becomes_a_chain(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA + MIGRATE_TO_2)
    conn.execute("PRAGMA user_version=2")
    conn.execute("INSERT INTO sessions VALUES ('s', NULL, 1.0)")
    conn.execute("INSERT INTO conversations (session_id, created_at, updated_at) "
                 "VALUES ('s', 1, 1)")
    for role in ("user", "assistant", "user"):
        conn.execute("INSERT INTO messages (session_id, conversation_id, role, content, "
                     "status, created_at) VALUES ('s', 1, ?, ?, 'ok', 1)", (role, role))
    conn.commit()
    conn.close()
    db = Database(path)
    assert [tuple(r) for r in db.query("SELECT id, parent_id FROM messages ORDER BY id")] == [
        (1, None), (2, 1), (3, 2)]
    db.close()


def test_the_path_ends_where_the_view_does(tmp_path):
    """No versions yet, but the view ends before the newest message (a regenerate whose
    reply has not started): the plain read of every message must not be used."""
    sessions = SessionManager(Database(tmp_path / "db.sqlite3"), max_history=10)
    sid = sessions.create()
    cid = sessions.conversations.new_conversation(sid, 0).id
    question = sessions.exchanges.add_user(sid, cid, "q", MODEL)
    reply = sessions.exchanges.begin_reply(sid, cid, MODEL, "chat", {})
    sessions.exchanges.finish_reply(question, reply, "a", "", "ok", None, None)
    assert [m.content for m in sessions.history.messages(cid)] == ["q", "a"]
    assert sessions.exchanges.regenerate(cid) == question
    assert [m.content for m in sessions.history.messages(cid)] == ["q"]
    assert [m.content for m in sessions.history.context_window(cid)] == ["q"]
    sessions.db.close()
