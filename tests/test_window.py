"""The context window: whole exchanges, a start that keeps Ollama's prompt cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from webchat.relay.payload import build_payload
from webchat.store.database import Database
from webchat.store.manager import SessionManager

from .support.fake_ollama import RELEASES, FakeOllama, render_gemma3
from .support.live import BrowserClient, LiveServer

TURNS = 14
SYSTEM = "Always answer in French."


def _store_exchange(sessions: SessionManager, sid: str, cid: int, turn: int) -> int:
    user_id = sessions.exchanges.add_user(sid, cid, f"question {turn}", "gemma3:270m")
    return user_id


def _answer(sessions: SessionManager, sid: str, cid: int, user_id: int, turn: int) -> None:
    reply_id = sessions.exchanges.begin_reply(sid, cid, "gemma3:270m", "chat", {})
    sessions.exchanges.finish_reply(user_id, reply_id, f"answer {turn}", "", "ok", None, None)


@pytest.mark.parametrize("trim", ["steps", "sliding"])
def test_every_window_size_starts_with_a_question(tmp_path: Path, trim: str) -> None:
    """For every size 1..12, each request is system, then user/assistant turns starting
    with a question, ending with the new one; it holds at least the last max_history
    messages and at most max_history + step, on /api/chat and /api/generate."""
    db = Database(tmp_path / "w.sqlite3")
    step = 6
    for size in range(1, 13):
        sessions = SessionManager(db, size, step)
        sid = sessions.create()
        cid = sessions.conversations.new_conversation(sid, 0, system=SYSTEM,
                                                      settings={"trim": trim}).id
        stored: list[str] = []
        for turn in range(TURNS):
            user_id = _store_exchange(sessions, sid, cid, turn)
            stored.append(f"question {turn}")
            window = sessions.history.context_window(cid)
            # What the page marks as sent is what the request sends.
            marked = [m.content for m in sessions.history.messages(cid) if m.in_context]
            assert marked == [m.content for m in window]
            chat = build_payload("chat", "gemma3:270m", SYSTEM, window, {})
            roles = [m["role"] for m in chat["messages"]]
            assert roles[0] == "system" and roles[1] == "user" and roles[-1] == "user"
            assert roles[1:] == ["user", "assistant"] * (len(roles[1:]) // 2) + ["user"]
            sent = [m["content"] for m in chat["messages"][1:]]
            assert sent[-min(size, len(stored)):] == stored[-size:]
            assert len(sent) <= size + (step if trim == "steps" else 1)
            prompt = build_payload("generate", "gemma3:270m", SYSTEM, window, {})["prompt"]
            assert prompt.split("\n")[2].startswith("User: ")
            assert SYSTEM in render_gemma3(chat["messages"])
            _answer(sessions, sid, cid, user_id, turn)
            stored.append(f"answer {turn}")


def test_steps_keep_the_prefix_byte_for_byte(tmp_path: Path) -> None:
    """Between two jumps of the start, each request begins with the whole previous one."""
    sessions = SessionManager(Database(tmp_path / "w.sqlite3"), 6, 6)
    sid = sessions.create()
    cid = sessions.conversations.new_conversation(sid, 0, system=SYSTEM).id
    previous: list[dict[str, str]] = []
    kept = 0
    for turn in range(20):
        user_id = _store_exchange(sessions, sid, cid, turn)
        messages = build_payload("chat", "m", SYSTEM, sessions.history.context_window(cid),
                                 {})["messages"]
        if messages[:len(previous)] == previous:
            kept += 1
        previous = messages
        _answer(sessions, sid, cid, user_id, turn)
        previous = previous + [{"role": "assistant", "content": f"answer {turn}"}]
    assert kept >= 15


def test_window_survives_a_restart_and_a_long_history(tmp_path: Path) -> None:
    """The start comes from the messages alone: a new manager (a restart) on the same
    file, and one reading only the tail of a long history, agree with the full plan."""
    db = Database(tmp_path / "w.sqlite3")
    sessions = SessionManager(db, 4, 6)
    sid = sessions.create()
    cid = sessions.conversations.new_conversation(sid, 0).id
    for turn in range(37):
        _answer(sessions, sid, cid, _store_exchange(sessions, sid, cid, turn), turn)
    _store_exchange(sessions, sid, cid, 37)
    window = [m.id for m in sessions.history.context_window(cid)]
    again = SessionManager(Database(tmp_path / "w.sqlite3"), 4, 6)
    assert [m.id for m in again.history.context_window(cid)] == window
    assert [m.id for m in again.history.messages(cid) if m.in_context] == window


def test_reasons_say_why(tmp_path: Path) -> None:
    sessions = SessionManager(Database(tmp_path / "w.sqlite3"), 2, 6)
    sid = sessions.create()
    cid = sessions.conversations.new_conversation(sid, 0, settings={"trim": "sliding"}).id
    for turn in range(3):
        _answer(sessions, sid, cid, _store_exchange(sessions, sid, cid, turn), turn)
    reasons = [m.window_reason for m in sessions.history.messages(cid)]
    assert reasons[0].startswith("Not sent: older than the last 2")
    assert reasons[-1].startswith("Sent: one of the last 2")
    sessions.conversations.update_conversation(sid, cid, settings={"trim": "steps"})
    reasons = [m.window_reason for m in sessions.history.messages(cid)]
    assert "reuses its cache" in reasons[0]


def test_system_prompt_reaches_gemma3_prompt_through_the_app(
        make_server: Callable[..., LiveServer], fake_ollama: FakeOllama) -> None:
    """The issue's case: --max-history 4, a full conversation, Gemma 3's template."""
    server = make_server(MAX_HISTORY=4, WINDOW_STEP=0)
    ws = BrowserClient(server).socket()
    counts = []
    for system in ("", SYSTEM):
        ws.send({"type": "system", "text": system})
        ws.recv()
        for i in range(4):
            frames = ws.chat(f"question {i}")
        assert [m["role"] for m in fake_ollama.last_payload("/api/chat")["messages"]][:2] \
            == (["system", "user"] if system else ["user", "assistant"])
        assert (SYSTEM in fake_ollama.last_prompt) == bool(system)
        counts.append(frames[-1]["stats"]["prompt_eval_count"])
        ws.send({"type": "clear"})
        ws.recv()
    assert counts[1] > counts[0]


def _cache_run(make_server: Callable[..., LiveServer], fake: FakeOllama,
               trim: str) -> tuple[int, int]:
    """20 turns with max_history 6: (turns that reused the previous prompt, total ns).
    On 0.32 each reply is followed by the app's warm-up of the cache (relay/cache_warm.py),
    waited for as a person reads; only the replies' own prompts are counted."""
    server = make_server(MAX_HISTORY=6)
    user = BrowserClient(server)
    ws = user.socket()
    response = user.http.post(server.url + "/api/conversations",
                              json={"system": SYSTEM, "settings": {"trim": trim}})
    cid = response.json()["id"]
    fake.prompts.clear()
    spent = 0
    replies = []
    for turn in range(20):
        assert server.services.cache_warm.idle(10)
        first = len(fake.requests)
        replies.append(len(fake.prompts))
        frames = ws.chat(f"question {turn} " + "word " * turn, conversation=cid)
        spent += frames[-1]["stats"]["prompt_eval_duration"]
        stored = [m["content"] for m in user.history(cid)["messages"]]
        payload = next(p for _, path, p in fake.requests[first:] if path == "/api/chat")
        sent = [m["content"] for m in payload["messages"][1:]]
        asked = stored[:-1]  # what the request could hold: all but its own reply
        assert len(sent) >= min(6, len(asked)) and sent[-6:] == asked[-6:]
    server.stop()
    prompts = [fake.prompts[i] for i in replies]
    # A hit reads the whole previous prompt from the cache (and more: the reply).
    hits = sum(1 for (_, _, cached), (_, before, _) in
               zip(prompts[1:], prompts[:-1], strict=True) if cached > before)
    return hits, spent


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_steps_hit_ollamas_cache(make_server: Callable[..., LiveServer],
                                 fake_ollama: FakeOllama, release) -> None:
    """The stand-in charges prompt time only for what follows the cached prefix (as each
    release caches: 0.32 only up to a checkpoint, see tests/support/fake_ollama.py)."""
    fake_ollama.release = RELEASES[release]
    hits, spent = _cache_run(make_server, fake_ollama, "steps")
    assert hits >= 15  # at least 3 turns in 4
    sliding_hits, sliding_spent = _cache_run(make_server, fake_ollama, "sliding")
    assert sliding_hits < hits and sliding_spent > spent


def test_stand_in_cache_counts_whole_prompt_and_forgets_on_unload(fake_ollama) -> None:
    """Like Ollama 0.24.0: the count is the whole prompt, only the duration shrinks; an
    unload empties the cache."""
    fake_ollama.release = RELEASES["0.24.0"]
    body = {"model": "gemma3:270m", "stream": False,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": "one two three four five"}]}

    def ask() -> dict:
        return requests.post(fake_ollama.url + "/api/chat", json=body, timeout=5).json()

    cold, warm = ask(), ask()
    assert cold["prompt_eval_count"] == warm["prompt_eval_count"]
    assert warm["prompt_eval_duration"] < cold["prompt_eval_duration"] / 5
    requests.post(fake_ollama.url + "/api/generate",
                  json={"model": "gemma3:270m", "keep_alive": 0}, timeout=5)
    assert ask()["prompt_eval_duration"] == cold["prompt_eval_duration"]
