"""One browser's search, import or uploads cannot stall or overfill the store for others.

Slow work is held in progress by a hook (an Event the test releases), never timed: a
search blocked inside SQLite, a read or write transaction kept open, an import stopped
between its transactions. Every thread is joined; every wait has a deadline.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from webchat.api import uploads as api_uploads
from webchat.files import transfer
from webchat.store import search as search_module

from .support.data import tiny_png
from .support.live import BrowserClient, LiveServer, wait_until

HOLD = 10.0  # the longest a held piece of work waits for the test to let it go


def export(title: str, *texts: str) -> dict[str, Any]:
    return {"format": "ollama-webchat/1", "title": title,
            "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                         for i, text in enumerate(texts)]}


def post_import(user: BrowserClient, body: dict[str, Any]) -> requests.Response:
    return user.http.post(user.server.url + "/api/conversations/import", json=body,
                          timeout=15)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    return thread, result


@contextmanager
def held(hold: Callable[[threading.Event, threading.Event], None]) -> Iterator[None]:
    """Run `hold(started, release)` in a thread; the block runs once it has started."""
    started, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=hold, args=(started, release), daemon=True)
    thread.start()
    try:
        assert started.wait(HOLD), "the held work never started"
        yield
    finally:
        release.set()
        thread.join(HOLD)
    assert not thread.is_alive()


def others_answer(other: BrowserClient) -> None:
    """Another browser's reads answer while the work is held (each within 5 s)."""
    assert len(other.history()["messages"]) == 2
    found = other.http.get(other.server.url + "/api/search", params={"q": "herons"},
                           timeout=5).json()
    assert len(found["hits"]) == 2 and found["cut"] is False
    assert other.http.get(other.server.url + "/api/conversations",
                          timeout=5).status_code == 200


def test_a_slow_search_or_a_held_transaction_stalls_no_other_browser(
        live_server, fake_ollama, monkeypatch):
    other = BrowserClient(live_server)
    assert other.socket().chat("tell me about herons")[-1]["type"] == "done"
    db = live_server.services.sessions.db

    def hold_read(started: threading.Event, release: threading.Event) -> None:
        with db.reading() as conn:
            conn.execute("SELECT count(*) FROM messages").fetchone()
            started.set()
            release.wait(HOLD)

    def hold_write(started: threading.Event, release: threading.Event) -> None:
        with db.transaction() as conn:  # what a long import's transaction did
            conn.execute("UPDATE sessions SET created_at = created_at")
            started.set()
            release.wait(HOLD)

    for hold in (hold_read, hold_write):
        with held(hold):
            others_answer(other)

    # A search stuck inside SQLite: its progress handler waits for the test.
    searching, release = threading.Event(), threading.Event()
    real_limit = search_module._time_limit

    @contextmanager
    def stuck(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
        def wait() -> int:
            searching.set()
            release.wait(HOLD)
            return 0
        conn.set_progress_handler(wait, 1)
        try:
            with real_limit(conn, seconds):
                yield
        finally:
            conn.set_progress_handler(None, 0)

    monkeypatch.setattr(search_module, "_time_limit", stuck)
    slow = BrowserClient(live_server)
    thread, answers = in_thread(lambda: slow.http.get(
        live_server.url + "/api/search", params={"q": "anything"}, timeout=HOLD + 5))
    try:
        assert searching.wait(HOLD)
        monkeypatch.setattr(search_module, "_time_limit", real_limit)  # others search freely
        others_answer(other)
        assert other.socket().chat("and egrets", conversation=other.history()[
            "conversation"])[-1]["type"] == "done"  # a write too
    finally:
        release.set()
        thread.join(HOLD + 10)
    assert answers and answers[0].status_code == 200
    other.close()
    slow.close()


def test_search_work_is_bounded_and_says_when_it_was_cut(user, fake_ollama, monkeypatch):
    ws = user.socket()
    for i in range(3):
        ws.chat(f"pelicans number {i}")  # 6 messages hold "pelicans"
    found = user.http.get(user.server.url + "/api/search", params={"q": "pelicans"},
                          timeout=5).json()
    assert len(found["hits"]) == 6 and found["cut"] is False
    monkeypatch.setattr(search_module, "RANKED_MATCHES", 4)
    found = user.http.get(user.server.url + "/api/search", params={"q": "pelicans"},
                          timeout=5).json()
    newest = sorted(m["id"] for m in user.history()["messages"])[-4:]
    assert found["cut"] is True and sorted(h["message"] for h in found["hits"]) == newest
    # one letter is a word, not the start of every word: "p" finds no "pelicans"
    assert search_module.fts_query("p") == '"p"'
    assert user.http.get(user.server.url + "/api/search", params={"q": "p"},
                         timeout=5).json()["hits"] == []


def out_of_time_at(*uses: int) -> Callable[[sqlite3.Connection, float], Any]:
    """A `_time_limit` whose `uses`-th blocks (1: the walk, 2: the whole-word ranking of a
    prefixed word, 3: the snippets) run out of time at their first step, as a slow machine
    would."""
    count = [0]

    @contextmanager
    def limit(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
        count[0] += 1
        if count[0] in uses:
            conn.set_progress_handler(lambda: 1, 1)
        try:
            yield
        finally:
            conn.set_progress_handler(None, 0)
    return limit


def test_a_search_out_of_time_answers_with_what_it_found(user, fake_ollama, monkeypatch):
    user.socket().chat("pelicans again")
    search = user.server.url + "/api/search"
    monkeypatch.setattr(search_module, "_time_limit", out_of_time_at(1))
    found = user.http.get(search, params={"q": "pelicans"}, timeout=5).json()
    assert found == {"query": "pelicans", "hits": [], "cut": True}
    monkeypatch.setattr(search_module, "_time_limit", out_of_time_at(2))
    found = user.http.get(search, params={"q": "pelicans"}, timeout=5).json()
    assert found["cut"] is False  # whole words out of time: bm25 alone ranks, all marked
    assert sorted(h["marks"] != [] for h in found["hits"]) == [True, True]
    monkeypatch.setattr(search_module, "_time_limit", out_of_time_at(3))
    found = user.http.get(search, params={"q": "pelicans"}, timeout=5).json()
    assert found["cut"] is False  # every match ranked; only the snippets were cut short
    assert sorted((h["snippet"], h["marks"]) for h in found["hits"]) == [
        ("You said: pelicans again", []), ("pelicans again", [])]


@pytest.fixture
def held_imports(monkeypatch):
    """Imports stop after their first transaction until `release` is set."""
    started, release = threading.Semaphore(0), threading.Event()
    real = transfer._write_batch

    def write_batch(*args: Any, **kwargs: Any) -> None:
        started.release()
        release.wait(HOLD)
        real(*args, **kwargs)

    monkeypatch.setattr(transfer, "_write_batch", write_batch)
    monkeypatch.setattr(transfer, "IMPORT_BATCH_BYTES", 1)  # one message per transaction
    return started, release


def test_an_import_in_progress_leaves_the_writer_to_others_and_is_hidden(
        live_server, fake_ollama, held_imports):
    started, release = held_imports
    importer, other = BrowserClient(live_server), BrowserClient(live_server)
    thread, answers = in_thread(lambda: post_import(importer, export(
        "Birds", "kestrels hover", "yes they do", "and terns")))
    try:
        assert started.acquire(timeout=HOLD)
        assert other.socket().chat("a chat meanwhile")[-1]["type"] == "done"
        listed = importer.http.get(live_server.url + "/api/conversations", timeout=5).json()
        assert listed["conversations"] == []  # half an import is never shown
        again = post_import(importer, export("Again", "more"))
        assert again.status_code == 429 and "browser" in again.json()["error"]
    finally:
        release.set()
        thread.join(HOLD + 10)
    assert answers[0].status_code == 201, answers[0].text
    assert [c["messages"] for c in importer.http.get(
        live_server.url + "/api/conversations", timeout=5).json()["conversations"]] == [3]
    importer.close()
    other.close()


def test_imports_per_address_are_capped(tmp_path, fake_ollama, held_imports):
    started, release = held_imports
    server = LiveServer(tmp_path / "data", fake_ollama.url, PEER_LIMITS_ON_LOOPBACK=True)
    browsers = [BrowserClient(server) for _ in range(3)]
    threads = [in_thread(lambda b=b: post_import(b, export("One", "a", "b")))
               for b in browsers[:2]]
    try:
        assert started.acquire(timeout=HOLD) and started.acquire(timeout=HOLD)
        third = post_import(browsers[2], export("Three", "c"))
        assert third.status_code == 429 and "address" in third.json()["error"]
    finally:
        release.set()
        for thread, _ in threads:
            thread.join(HOLD + 10)
        server.stop()
    assert [answers[0].status_code for _, answers in threads] == [201, 201]


def test_deleted_conversations_count_until_purged_and_reads_purge_nothing(
        tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, MAX_CONVERSATIONS=3)
    user = BrowserClient(server)
    try:
        for round_ in range(3):  # import and delete: each still restorable
            made = post_import(user, export(f"round {round_}", "hello"))
            assert made.status_code == 201
            assert user.http.delete(f"{server.url}/api/conversations/{made.json()['id']}",
                                    timeout=5).status_code == 200
        refused = post_import(user, export("one too many", "hello"))
        assert refused.status_code == 409 and "Undo" in refused.json()["error"]
        assert user.http.post(server.url + "/api/conversations", json={},
                              timeout=5).status_code == 409
        with server.services.sessions.db.transaction() as conn:  # past the undo window
            conn.execute("UPDATE conversations SET deleted_at = ?", (time.time() - 3600,))
        user.http.get(server.url + "/api/conversations", timeout=5)
        assert count(server, "conversations") == 3  # a read purges nothing
        old = server.services.sessions.db.query("SELECT id FROM conversations")[0][0]
        assert user.http.post(f"{server.url}/api/conversations/{old}/restore",
                              timeout=5).status_code == 404  # past the undo: not restored
        assert post_import(user, export("fits again", "hello")).status_code == 201
        assert count(server, "conversations") == 1  # the write purged the three
    finally:
        user.close()
        server.stop()


def count(server: LiveServer, table: str) -> int:
    return server.services.sessions.db.query(f"SELECT count(*) FROM {table}")[0][0]


def upload(user: BrowserClient, data: bytes) -> requests.Response:
    return user.http.post(user.server.url + "/api/uploads", data=data, timeout=15,
                          headers={"Content-Type": "image/png"})


def test_concurrent_uploads_cannot_pass_the_image_quota(tmp_path, fake_ollama, monkeypatch):
    png = tiny_png()
    arrived: list[bytes] = []
    real_sniff = api_uploads.sniff_image
    monkeypatch.setattr(api_uploads, "sniff_image",
                        lambda data: arrived.append(data) or real_sniff(data))
    server = LiveServer(tmp_path / "data", fake_ollama.url, UPLOAD_QUOTA_BYTES=len(png) * 3)
    user = BrowserClient(server)
    db = server.services.sessions.db
    try:
        def hold_write(started: threading.Event, release: threading.Event) -> None:
            with db.transaction():
                started.set()
                release.wait(HOLD)

        with held(hold_write):  # every upload is checked by the route before any is written
            threads = [in_thread(lambda: upload(user, png)) for _ in range(8)]
            assert wait_until(lambda: len(arrived) == 8, timeout=HOLD)
        for thread, _ in threads:
            thread.join(HOLD + 10)
        codes = sorted(answers[0].status_code for _, answers in threads)
        assert codes == [201] * 3 + [413] * 5
        assert count(server, "uploads") == 3
    finally:
        user.close()
        server.stop()


def stored(server: LiveServer) -> tuple[int, int]:
    """What the trigger-kept counter says, and the same summed from the rows."""
    db = server.services.sessions.db
    counted = db.query("SELECT coalesce(sum(stored_bytes), 0) FROM sessions")[0][0]
    summed = db.query(
        "SELECT (SELECT coalesce(sum(length(CAST(content AS BLOB)) + length(CAST(thinking "
        "AS BLOB)) + coalesce(length(CAST(request AS BLOB)), 0)), 0) FROM messages WHERE "
        "status != 'streaming') + (SELECT coalesce(sum(length(data)), 0) FROM uploads)")[0][0]
    return counted, summed


def test_stored_bytes_have_a_quota_per_browser(tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, STORAGE_QUOTA_BYTES=60_000)
    user, other = BrowserClient(server), BrowserClient(server)
    try:
        ws = user.socket()
        ws.chat("héllo wörld")
        cid = user.history()["conversation"]
        ws.send({"type": "regenerate", "conversation": cid, "model": "gemma3:270m"})
        ws.recv_until("done")
        ws.send({"type": "delete_last", "conversation": cid})
        ws.recv_until("deleted")
        ws.chat("again")
        counted, summed = stored(server)
        assert counted == summed > 0
        assert post_import(user, export("big", "x" * 40_000)).status_code == 201
        refused = post_import(user, export("bigger", "y" * 30_000))
        assert refused.status_code == 413
        assert "--storage-quota-bytes" in refused.json()["error"]
        assert "58.6 KB" in refused.json()["error"]  # the limit, named
        image = {"format": "ollama-webchat/1", "title": "pic", "messages": [
            {"role": "user", "content": "see", "images": [
                {"mime": "image/png", "data": base64.b64encode(tiny_png()).decode()}]}]}
        assert post_import(user, image).status_code == 201
        assert upload(other, tiny_png()).status_code == 201  # another browser: its own
        assert stored(server)[0] == stored(server)[1]
        assert post_import(other, export("fits", "y" * 30_000)).status_code == 201
        filler = upload(user, tiny_png() + b"\0" * 30_000)  # its bytes say PNG
        assert filler.status_code == 413 and "--storage-quota-bytes" in filler.json()["error"]
        assert upload(user, tiny_png()).status_code == 201  # what still fits, fits
    finally:
        user.close()
        other.close()
        server.stop()


def test_chat_messages_count_toward_the_stored_bytes_quota(make_server):
    """A question, new or edited, is let in only while the browser's stored bytes leave
    room for it: chat alone must not grow the file without bound. The refused text is
    not stored (the page puts it back in the composer), and other browsers still chat."""
    server = make_server(STORAGE_QUOTA_BYTES=5_000)
    user, other = BrowserClient(server), BrowserClient(server)
    ws = user.socket()
    assert ws.chat("a" * 2_500)[-1]["type"] == "done"
    cid = user.history()["conversation"]
    before = stored(server)[0]
    refused = ws.chat("b" * 3_000, conversation=cid)
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "quota"
    assert "--storage-quota-bytes" in refused[-1]["message"]
    assert stored(server)[0] == before
    assert not any(m["content"].startswith("b") for m in user.history(cid)["messages"])
    first = user.history(cid)["messages"][0]["id"]
    ws.send({"type": "edit", "conversation": cid, "id": first,
             "text": "c" * 3_000, "model": "gemma3:270m"})
    edited = ws.recv_until("done", "error")
    assert edited[-1]["code"] == "quota", edited[-1]
    assert "4.9 KB (--storage-quota-bytes)" in edited[-1]["message"]  # the limit, named
    assert other.socket().chat("b" * 3_000)[-1]["type"] == "done"  # its own quota
