"""Every tab of a browser hears of changes to its conversation list (`conversations`
frames over /ws, webchat/api/conversations.py), other browsers hear nothing; and a new
chat's first message makes its conversation, with what was chosen before it (`new`)."""

from __future__ import annotations

from typing import Any

from .support.live import BrowserClient


def watching(user: BrowserClient) -> Any:
    ws = user.socket()
    ws.send({"type": "watch", "replies": True})
    ws.recv_until("loaded")
    return ws


def pushed(ws: Any, change: str) -> dict[str, Any]:
    frames = ws.recv_until("conversations", timeout=10)
    assert frames[-1]["change"] == change, frames[-1]
    return frames[-1]


def test_list_changes_reach_every_tab_of_the_browser_and_no_other(live_server):
    user, other = BrowserClient(live_server), BrowserClient(live_server)
    try:
        first, second = watching(user), watching(user)
        stranger = watching(other)
        api = live_server.url + "/api/conversations"
        cid = user.http.post(api, json={}, timeout=5).json()["id"]
        for ws in (first, second):
            assert pushed(ws, "created")["conversation"] == cid
        user.http.patch(f"{api}/{cid}", json={"title": "Renamed"}, timeout=5).raise_for_status()
        assert pushed(second, "renamed")["title"] == "Renamed"
        user.http.patch(f"{api}/{cid}", json={"settings": {"endpoint": "generate"}},
                        timeout=5).raise_for_status()  # settings are not the list's
        user.http.delete(f"{api}/{cid}", timeout=5).raise_for_status()
        gone = pushed(second, "deleted")  # the next after the rename: no settings push
        assert gone["conversation"] == cid and gone["undo_seconds"] == 600
        user.http.post(f"{api}/{cid}/restore", timeout=5).raise_for_status()
        assert pushed(second, "restored")["title"] == "Renamed"
        stranger.send({"type": "watch"})  # anything of its own comes back; no push came
        assert all(f["type"] != "conversations" for f in stranger.recv_until("loaded"))
    finally:
        user.close()
        other.close()


def test_a_new_chats_first_message_makes_its_own_conversation(live_server):
    user = BrowserClient(live_server)
    try:
        ws = user.socket()
        ws.chat("first")
        older = user.history()["conversation"]
        frames = ws.chat("second", new=True, system="Be brief.",
                         settings={"endpoint": "chat", "think": False,
                                   "options": {"temperature": 0.2}})
        made = frames[0]["conversation"]
        assert made != older  # not the most recent one, as a frame naming none would be
        history = user.history(made)
        assert history["system"] == "Be brief."
        assert history["settings"]["options"] == {"temperature": 0.2}
        assert [m["content"] for m in history["messages"]][0] == "second"
        listed = user.http.get(live_server.url + "/api/conversations", timeout=5).json()
        assert len(listed["conversations"]) == 2
    finally:
        user.close()


def test_a_new_chats_settings_are_checked_without_storing_anything(client):
    good = client.post("/api/settings/check", json={"settings": {"endpoint": "generate"}})
    assert good.status_code == 200 and good.get_json()["settings"]["endpoint"] == "generate"
    bad = client.post("/api/settings/check", json={"settings": {"options": {"temperature": 500}}})
    assert bad.status_code == 400 and bad.get_json()["field"] == "options.temperature"
    assert client.get("/api/conversations").get_json()["conversations"] == []
