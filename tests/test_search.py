"""Search across conversations: the index follows every change, odd queries are words."""

from __future__ import annotations

import sqlite3

from webchat.store.database import Database
from webchat.store.schema import MIGRATE_TO_2, SCHEMA, SCHEMA_VERSION
from webchat.store.search import fts_query, search_messages, split_snippet

from .support.live import BrowserClient, reply_text

MODEL = "gemma3:270m"


def search(user, q):
    response = user.http.get(user.server.url + "/api/search", params={"q": q}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def texts(hits):
    return sorted(hit["snippet"] for hit in hits)


def test_fts_query_quotes_every_word():
    assert fts_query('say "hi" NEAR(a b) OR') == '"say"* "hi"* "NEAR"* "a" "b" "OR"*'
    assert fts_query("' ; DROP TABLE messages; --") == '"DROP"* "TABLE"* "messages"*'
    assert fts_query("* ( ) \" -") == ""
    assert fts_query("word " * 100).count('"word"') == 12


def test_snippet_offsets_count_utf16_units():
    text, marks = split_snippet("😀 a \ue000café\ue001 b \ue000x\ue001")
    assert text == "😀 a café b x"
    assert [text.encode("utf-16-le")[2 * s:2 * e].decode("utf-16-le") for s, e in marks] == [
        "café", "x"]


def test_search_follows_adds_edits_deletes_clears_and_imports(fake_ollama, user, live_server):
    ws = user.socket()
    ws.chat("tell me about pelicans")
    cid = user.history()["conversation"]
    hits = search(user, "pelican")  # the last word is a prefix
    assert {(h["role"], h["snippet"]) for h in hits} == {
        ("user", "tell me about pelicans"), ("assistant", "You said: tell me about pelicans")}
    user_hit = next(h for h in hits if h["role"] == "user")
    assert user_hit["conversation"] == cid and user_hit["title"]
    assert user_hit["marks"] == [[14, 22]]
    assert user_hit["message"] == user.history()["messages"][0]["id"]
    assert search(user, "PÉLICANS about") and search(user, "pelicans zebra") == []

    ws.send({"type": "edit", "id": user_hit["message"], "text": "tell me about herons",
             "conversation": cid, "model": MODEL})
    assert reply_text(ws.recv_until("done")) == "You said: tell me about herons"
    assert len(search(user, "pelicans")) == 2  # the first version is kept (test_branches)
    assert len(search(user, "herons")) == 2

    ws.send({"type": "delete_last", "conversation": cid})
    ws.recv_until("deleted")
    assert search(user, "herons") == []
    ws.chat("ospreys dive", conversation=cid)
    ws.send({"type": "chat", "text": "/clear", "model": MODEL, "conversation": cid})
    ws.recv_until("cleared")
    assert search(user, "ospreys") == []

    exported = {"format": "ollama-webchat/1", "title": "Birds", "messages": [
        {"role": "user", "content": "kestrels hover"},
        {"role": "assistant", "content": "Yes, kestrels hover."}]}
    imported = user.http.post(user.server.url + "/api/conversations/import", json=exported,
                              timeout=5).json()
    hits = search(user, "kestrels")
    assert {(h["conversation"], h["title"]) for h in hits} == {(imported["id"], "Birds")}

    other = BrowserClient(live_server)  # another browser sees none of it
    try:
        assert search(other, "kestrels") == []
    finally:
        other.close()
    user.http.delete(f"{user.server.url}/api/conversations/{imported['id']}", timeout=5)
    assert search(user, "kestrels") == []  # deleted (even while it can still be undone)


def test_every_word_is_a_prefix_and_whole_words_rank_first(fake_ollama, user):
    """"zebra fact 12" finds "Zebras … Fact 12" before "Fact 128", though bm25 alone put
    the shorter, newer "Fact 128" first; a one-letter word stays a whole word."""
    bodies = ["Zebras, fact 12: the stripes of a zebra keep biting flies away, more or "
              "less, as a long study in the field found out over many dry seasons",
              "Zebras Fact 128", "Zebras fact 2 and zebras Fact 28", "Zebras Fact 29",
              "a zebra alone"]
    user.http.post(user.server.url + "/api/conversations/import", timeout=5, json={
        "format": "ollama-webchat/1", "title": "Zebra facts",
        "messages": [{"role": "user", "content": body} for body in bodies]})
    hits = [hit["snippet"] for hit in search(user, "zebra fact 12")]
    assert len(hits) == 2 and hits[0].startswith("Zebras, fact 12:"), hits
    assert hits[1] == "Zebras Fact 128"
    assert [hit["snippet"] for hit in search(user, "zebra fact 2")] == [
        "Zebras fact 2 and zebras Fact 28"]  # "2" is not the start of "29"
    assert search(user, "zebras fact 12")[0]["marks"][:2] == [[0, 6], [8, 12]]


ODD = ['"', '"unbalanced', "pelicans*", "*", "NEAR(", "NEAR(a b", "pelicans OR", "OR", "AND",
       "NOT pelicans", "a:b", "content:pelicans", "^pelicans", "'; DROP TABLE messages; --",
       "é" * 300, "", "   ", "NaN", "null", "{}", "\\", "%", "x" * 5000, "🦩 pelicans",
       "pelicans\x00", "(pelicans)", "-pelicans", "+"]


def test_odd_queries_get_a_normal_answer(fake_ollama, user):
    user.socket().chat("pelicans and NaN")
    for q in ODD:
        hits = search(user, q)
        assert isinstance(hits, list), q
    assert len(search(user, "(pelicans)")) == 2
    assert len(search(user, "NaN")) == 2
    for raw in ("", "?q=%ED%A0%80%FF%00", "?q=pelicans&q=NaN", "?q=" + "%C3%A9" * 3000):
        answer = user.http.get(user.server.url + "/api/search" + raw, timeout=5)
        assert answer.status_code == 200, raw
        assert len(answer.json()["query"]) <= 200


def test_migration_indexes_existing_messages(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA + MIGRATE_TO_2 + "PRAGMA user_version=2;")
    conn.execute("INSERT INTO sessions VALUES ('old', NULL, 1.0)")
    conn.execute("INSERT INTO conversations (session_id, title, created_at, updated_at) "
                 "VALUES ('old', 'Then', 1.0, 1.0)")
    conn.execute("INSERT INTO messages (session_id, conversation_id, role, content, status, "
                 "created_at) VALUES ('old', 1, 'user', 'albatross from before', 'ok', 2.0)")
    conn.commit()
    conn.close()
    db = Database(path)
    try:
        assert db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        hits = search_messages(db, "old", "albatross")
        assert [(h["title"], h["snippet"]) for h in hits] == [("Then", "albatross from before")]
        assert search_messages(db, "someone else", "albatross") == []
    finally:
        db.close()

