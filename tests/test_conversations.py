"""Conversations, message actions, images, downloads and pushes, over real sockets."""

from __future__ import annotations

import base64
import re
import sqlite3

import pytest

from webchat.store.database import Database
from webchat.store.schema import SCHEMA, SCHEMA_VERSION

from .support.data import tiny_png
from .support.live import BrowserClient, reply_text, wait_until

MODEL = "gemma3:270m"


def api(user, method, path, **kwargs):
    return user.http.request(method, user.server.url + path, timeout=5, **kwargs)


def new_conversation(user, **body) -> int:
    response = api(user, "POST", "/api/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_conversations_are_separate_and_listed_newest_first(fake_ollama, user):
    first = new_conversation(user)
    second = new_conversation(user, system="Answer in French.")
    ws = user.socket()
    ws.chat("about cats", conversation=first)
    frames = ws.chat("about dogs", conversation=second)
    assert {f["conversation"] for f in frames} == {second}
    assert fake_ollama.last_payload("/api/chat")["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "about dogs"}]
    listed = api(user, "GET", "/api/conversations").json()["conversations"]
    assert [(c["id"], c["title"]) for c in listed] == [(second, "about dogs"),
                                                       (first, "about cats")]
    history = api(user, "GET", f"/api/history?conversation={first}").json()
    assert [m["content"] for m in history["messages"]][0] == "about cats"
    assert history["system"] is None


def test_another_browsers_conversation_is_not_found(fake_ollama, live_server, user):
    mine = new_conversation(user)
    other = BrowserClient(live_server)
    for method, path in [("GET", f"/api/history?conversation={mine}"),
                         ("GET", f"/api/conversations/{mine}"),
                         ("PATCH", f"/api/conversations/{mine}"),
                         ("DELETE", f"/api/conversations/{mine}"),
                         ("GET", f"/api/conversations/{mine}/export")]:
        response = api(other, method, path, json={"title": "stolen"})
        assert response.status_code == 404, (method, path)
        assert "no conversation" in response.json()["error"]
    ws = other.socket()
    for frame in ({"type": "chat", "text": "hi", "model": MODEL, "conversation": mine},
                  {"type": "clear", "conversation": mine},
                  {"type": "system", "text": "x", "conversation": mine},
                  {"type": "delete_last", "conversation": mine}):
        ws.send(frame)
        error = ws.recv()
        assert (error["type"], error["code"]) == ("error", "not_found")
    assert api(user, "GET", f"/api/conversations/{mine}").json()["title"] == ""


def test_limit_on_conversations_is_a_clear_error(make_server):
    server = make_server(MAX_CONVERSATIONS=2)
    user = BrowserClient(server)
    new_conversation(user)
    new_conversation(user)
    refused = api(user, "POST", "/api/conversations", json={})
    assert refused.status_code == 409 and "(2)" in refused.json()["error"]


def test_settings_are_validated_and_kept(fake_ollama, user):
    cid = new_conversation(user)
    bad = api(user, "PATCH", f"/api/conversations/{cid}",
              json={"settings": {"options": {"top_p": 3}}})
    assert bad.status_code == 400
    assert bad.json() == {"error": "options.top_p: must be at most 1", "field": "options.top_p",
                          "fields": {"options.top_p": "options.top_p: must be at most 1"}}
    several = api(user, "PATCH", f"/api/conversations/{cid}", json={"settings": {
        "options": {"top_p": 3, "temperature": 500}, "keep_alive": "soon"}}).json()
    assert sorted(several["fields"]) == ["keep_alive", "options.temperature", "options.top_p"]
    settings = {"model": "thinker:latest", "endpoint": "generate", "think": True,
                "keep_alive": 0, "options": {"temperature": 0.3, "stop": ["END"], "seed": 7}}
    saved = api(user, "PATCH", f"/api/conversations/{cid}",
                json={"settings": settings, "title": "  My   chat ", "system": "Be terse."})
    assert saved.status_code == 200
    again = api(user, "GET", f"/api/conversations/{cid}").json()
    assert again["settings"] == settings
    assert (again["title"], again["system"]) == ("My chat", "Be terse.")


@pytest.mark.parametrize("think", [False, True, "low", "medium", "high"])
def test_the_think_setting_is_kept_as_chosen(fake_ollama, user, think):
    cid = new_conversation(user)
    saved = api(user, "PATCH", f"/api/conversations/{cid}", json={"settings": {"think": think}})
    assert saved.status_code == 200
    assert api(user, "GET", f"/api/conversations/{cid}").json()["settings"]["think"] == think


@pytest.mark.parametrize("think", [None, "max", "on", 1])
def test_a_bad_think_setting_is_refused(fake_ollama, user, think):
    cid = new_conversation(user)
    bad = api(user, "PATCH", f"/api/conversations/{cid}", json={"settings": {"think": think}})
    assert bad.status_code == 400
    assert bad.json()["error"] == "think: must be true, false or one of low, medium, high"


def test_regenerate_edit_and_delete_last(fake_ollama, user):
    cid = new_conversation(user)
    ws = user.socket()
    ws.chat("one", conversation=cid)
    ws.chat("two", conversation=cid)
    fake_ollama.script(tokens=[" again"])
    ws.send({"type": "regenerate", "conversation": cid, "model": MODEL})
    assert reply_text(ws.recv_until("done")) == " again"
    messages = api(user, "GET", f"/api/history?conversation={cid}").json()["messages"]
    assert [m["content"] for m in messages] == ["one", "You said: one", "two", " again"]

    ws.send({"type": "edit", "id": messages[0]["id"], "text": "uno",
             "conversation": cid, "model": MODEL})
    assert reply_text(ws.recv_until("done")) == "You said: uno"
    messages = api(user, "GET", f"/api/history?conversation={cid}").json()["messages"]
    assert [m["content"] for m in messages] == ["uno", "You said: uno"]
    assert fake_ollama.last_payload("/api/chat")["messages"] == [
        {"role": "user", "content": "uno"}]

    ws.send({"type": "delete_last", "conversation": cid})
    deleted = ws.recv()
    assert deleted == {"type": "deleted", "conversation": cid,
                       "ids": [m["id"] for m in messages], "undo": deleted["undo"],
                       "undo_seconds": 600.0}
    # The first version of the first message comes back into view (tests/test_branches.py).
    left = api(user, "GET", f"/api/history?conversation={cid}").json()["messages"]
    assert [m["content"] for m in left] == ["one", "You said: one", "two", " again"]
    for _ in range(2):
        ws.send({"type": "delete_last", "conversation": cid})
        ws.recv()
    assert api(user, "GET", f"/api/history?conversation={cid}").json()["messages"] == []
    ws.send({"type": "regenerate", "conversation": cid, "model": MODEL})
    assert ws.recv()["code"] == "invalid"


def test_switching_never_interrupts_a_reply_in_another_conversation(fake_ollama, user):
    first, second = new_conversation(user), new_conversation(user)
    fake_ollama.script(tokens=[" t"] * 40, delay=0.01)
    ws = user.socket()
    ws.send({"type": "chat", "text": "long", "model": MODEL, "conversation": first})
    frames = ws.recv_until("chunk")
    ws.send({"type": "system", "text": "elsewhere", "conversation": second})
    ws.send({"type": "clear", "conversation": second})
    frames += ws.recv_until("done")
    assert reply_text(frames) == " t" * 40
    assert [f["type"] for f in frames if f["type"] in ("system_set", "cleared")] == [
        "system_set", "cleared"]
    # One running reply per browser: a chat in the other conversation is refused meanwhile.
    fake_ollama.script(tokens=[" u"] * 40, delay=0.01)
    ws.send({"type": "chat", "text": "again", "model": MODEL, "conversation": first})
    ws.recv_until("chunk")
    ws.send({"type": "chat", "text": "other", "model": MODEL, "conversation": second})
    busy = ws.recv_until("error")[-1]
    assert (busy["code"], busy["conversation"]) == ("busy", first)
    ws.recv_until("done")


def test_delete_and_undo(fake_ollama, user):
    cid = new_conversation(user)
    user.socket().chat("keep me", conversation=cid)
    assert api(user, "DELETE", f"/api/conversations/{cid}").status_code == 200
    assert api(user, "GET", f"/api/conversations/{cid}").status_code == 404
    assert cid not in [c["id"] for c in api(user, "GET", "/api/conversations").json()[
        "conversations"]]
    assert api(user, "POST", f"/api/conversations/{cid}/restore").status_code == 200
    history = api(user, "GET", f"/api/history?conversation={cid}").json()
    assert history["messages"][0]["content"] == "keep me"


def test_export_markdown_and_json_then_import(fake_ollama, user):
    cid = new_conversation(user, system="Be kind.")
    user.socket().chat("hello **there**", conversation=cid)
    md = api(user, "GET", f"/api/conversations/{cid}/export?format=md")
    assert md.headers["Content-Disposition"].startswith('attachment; filename="hello-there.md"')
    assert "# hello **there**" in md.text and "### You" in md.text
    assert "### Assistant (gemma3:270m)" in md.text and "> Be kind." in md.text
    exported = api(user, "GET", f"/api/conversations/{cid}/export?format=json").json()
    assert exported["format"] == "ollama-webchat/1" and len(exported["messages"]) == 2
    imported = api(user, "POST", "/api/conversations/import", json=exported)
    assert imported.status_code == 201
    new_id = imported.json()["id"]
    history = api(user, "GET", f"/api/history?conversation={new_id}").json()
    assert [m["content"] for m in history["messages"]] == ["hello **there**",
                                                           "You said: hello **there**"]
    assert history["system"] == "Be kind."
    assert user.stored_request(history, 1) == exported["messages"][1]["request"]
    by_hand = api(user, "POST", "/api/conversations/import", json={
        "format": "ollama-webchat/1", "messages": [
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "assistant", "content": "half", "status": "weird"}]})
    assert [m["status"] for m in user.history(by_hand.json()["id"])["messages"]] == [
        "ok", "ok", "interrupted"]
    bad = api(user, "POST", "/api/conversations/import", json={"messages": []})
    assert bad.status_code == 400 and "format" in bad.json()["error"]


def _outside_fences(markdown: str) -> list[str]:
    """The lines CommonMark reads outside fenced code blocks: a fence opens with 3+
    backticks or tildes and closes with a line of the same character, at least as long,
    with nothing after it but spaces; an unclosed one runs to the end of the file."""
    outside, fence = [], None
    for line in markdown.splitlines():
        run = re.match(r" {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence is None:
            if run and not (run.group(1)[0] == "`" and "`" in run.group(2)):
                fence = run.group(1)
            else:
                outside.append(line)
        elif run and run.group(1)[0] == fence[0] and len(run.group(1)) >= len(fence) \
                and not run.group(2).strip():
            fence = None
    return outside


def test_a_fence_inside_a_message_does_not_swallow_the_export(user):
    bodies = ["look:\n```python\nprint(1)", "a run of five ````` and ~~~ inside\n````",
              "bye"]
    imported = api(user, "POST", "/api/conversations/import", json={
        "format": "ollama-webchat/1", "title": "fences",
        "messages": [{"role": role, "content": body} for role, body in
                     zip(("user", "assistant", "user"), bodies, strict=True)]})
    cid = imported.json()["id"]
    md = api(user, "GET", f"/api/conversations/{cid}/export?format=md").text
    headings = [line for line in _outside_fences(md) if line.startswith("### ")]
    assert headings == ["### You", "### Assistant", "### You"], md
    for body in bodies:  # each body kept whole, as written
        assert f"\n{body}\n" in md
    assert "``````markdown\na run of five" in md  # one longer than the run inside


def test_images_upload_limits_and_payload(make_server, fake_ollama):
    fake_ollama.add_model("eyes:latest", capabilities=("completion", "vision"))
    server = make_server(MAX_IMAGE_BYTES=2000)
    user = BrowserClient(server)
    png = tiny_png()
    too_big = api(user, "POST", "/api/uploads", data=png + b"\0" * 3000,
                  headers={"Content-Type": "image/png"})
    assert too_big.status_code == 413 and "limit" in too_big.json()["error"]
    not_image = api(user, "POST", "/api/uploads", data=b"<svg></svg>",
                    headers={"Content-Type": "image/png"})
    assert not_image.status_code == 415 and "PNG" in not_image.json()["error"]
    upload = api(user, "POST", "/api/uploads", data=png,
                 headers={"Content-Type": "image/png"})
    assert upload.status_code == 201
    upload_id = upload.json()["id"]
    assert api(user, "GET", f"/api/uploads/{upload_id}").content == png
    assert api(BrowserClient(server), "GET", f"/api/uploads/{upload_id}").status_code == 404

    ws = user.socket()
    ws.send({"type": "chat", "text": "what is it?", "model": MODEL, "images": [upload_id]})
    error = ws.recv()
    assert error["code"] == "invalid" and "cannot see images" in error["message"]
    frames = ws.chat("what is it?", model="eyes:latest", images=[upload_id])
    assert frames[-1]["type"] == "done"
    sent = fake_ollama.last_payload("/api/chat")["messages"][-1]
    assert sent["images"] == [base64.b64encode(png).decode()]
    history = user.history()
    assert history["messages"][0]["images"] == [upload_id]
    request = user.stored_request(history, 1)
    assert request["messages"][-1]["images"][0].startswith("<image: ")

    # Exports keep the picture (JSON) or say it is there (Markdown); an import brings
    # it back as this browser's own upload.
    cid = history["conversation"]
    md = api(user, "GET", f"/api/conversations/{cid}/export?format=md").text
    assert "_(1 image attached: kept in the JSON export" in md
    exported = api(user, "GET", f"/api/conversations/{cid}/export?format=json").json()
    assert exported["messages"][0]["images"] == [
        {"mime": "image/png", "data": base64.b64encode(png).decode()}]
    imported = api(user, "POST", "/api/conversations/import", json=exported)
    assert imported.status_code == 201
    copy = user.history(imported.json()["id"])["messages"][0]
    assert len(copy["images"]) == 1 and copy["images"] != [upload_id]
    assert api(user, "GET", f"/api/uploads/{copy['images'][0]}").content == png
    for bad, named in (([{"data": "not base64!"}], "messages[0].images[0]: not a PNG"),
                       ([{"data": base64.b64encode(b"<svg/>").decode()}], "not a PNG"),
                       ([{"data": base64.b64encode(png + b"\0" * 3000).decode()}],
                        "the limit is"),
                       ("one", "messages[0].images: must be a list")):
        exported["messages"][0]["images"] = bad
        refused = api(user, "POST", "/api/conversations/import", json=exported)
        assert refused.status_code == 400 and named in refused.json()["error"], named


def test_pull_progress_cancel_delete_and_pushes(fake_ollama, user):
    ws = user.socket()
    ws.send({"type": "watch"})
    assert ws.recv_until("loaded")[-1]["models"] == []
    ws.send({"type": "pull", "model": "newmodel:1b"})
    frames = ws.recv_until("pull_done", timeout=10)
    progress = [f for f in frames if f["type"] == "pull_progress"]
    assert any(0 < f["completed"] < f["total"] for f in progress)
    assert progress[-1]["completed"] == progress[-1]["total"] > 0
    assert frames[-1] == {"type": "pull_done", "model": "newmodel:1b", "ok": True}
    names = [m["name"] for m in user.http.get(user.server.url + "/api/models").json()["models"]]
    assert "newmodel:1b" in names

    fake_ollama.pull_delay = 0.5
    ws.send({"type": "pull", "model": "slow:7b"})
    ws.recv_until("pull_progress")
    ws.send({"type": "pull_cancel", "model": "slow:7b"})
    done = ws.recv_until("pull_done", timeout=5)[-1]
    assert done["cancelled"] is True and done["ok"] is False
    assert fake_ollama.wait_for_disconnect(2)

    ws.send({"type": "pull", "model": "unreachable:1b"})
    failed = ws.recv_until("pull_done", timeout=5)[-1]
    assert failed["ok"] is False and "no such host" in failed["error"]

    deleted = api(user, "DELETE", "/api/models", json={"model": "newmodel:1b"})
    assert deleted.json() == {"deleted": "newmodel:1b"}
    assert api(user, "DELETE", "/api/models", json={"model": "newmodel:1b"}).status_code == 404

    # the push after a reply may overtake its `done` (they are sent by different threads)
    frames = ws.chat("load it")
    early = [f for f in frames if f["type"] == "loaded" and f["models"]]
    pushed = early[-1] if early else ws.recv_until("loaded")[-1]
    assert [m["name"] for m in pushed["models"]] == [MODEL]


@pytest.mark.parametrize("frame", [{"type": "delete_last", "conversation": "1"},
                                   {"type": "edit", "id": "x", "text": "t", "model": MODEL}])
def test_bad_action_frames(fake_ollama, user, frame):
    ws = user.socket()
    ws.send(frame)
    assert ws.recv()["code"] in ("invalid", "not_found")


def test_version_1_history_moves_into_one_conversation(make_server, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "webchat.sqlite3")
    conn.executescript(SCHEMA)
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO sessions VALUES ('old', 'Be old.', 1.0)")
    conn.execute("INSERT INTO messages (session_id, role, content, status, created_at) "
                 "VALUES ('old', 'user', 'from before', 'ok', 2.0)")
    conn.commit()
    conn.close()
    db = Database(data / "webchat.sqlite3")
    assert db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    rows = db.query("SELECT title, system_prompt FROM conversations WHERE session_id = 'old'")
    assert [tuple(r) for r in rows] == [("from before", "Be old.")]
    assert db.query("SELECT conversation_id FROM messages")[0][0] is not None
    db.close()
    server = make_server(data_dir=data)
    assert wait_until(lambda: server.services.sessions.conversations.resolve("old") > 0)
    cid = server.services.sessions.conversations.resolve("old")
    messages = server.services.sessions.history.messages(cid)
    assert [m.content for m in messages] == ["from before"]
    assert server.services.sessions.conversations.system_prompt(cid) == "Be old."
