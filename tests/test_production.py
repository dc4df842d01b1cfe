"""The same chat through gunicorn's threaded worker (`run.py --production`)."""

from __future__ import annotations

import contextlib
import re
import select
import signal
import socket
import threading
import time

import pytest
import requests

from .support.live import ChatSocket, reply_text, start_run_py

pytest.importorskip("gunicorn")


@pytest.fixture
def production(tmp_path, fake_ollama):
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--production")
    url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
    yield process, url
    process.kill()
    process.wait(timeout=10)


def _socket(url: str) -> ChatSocket:
    http = requests.Session()
    page = http.get(url + "/", timeout=5)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    return ChatSocket(url.replace("http://", "ws://") + "/ws", cookies)


def test_chat_stop_and_sigterm_through_gunicorn(production, fake_ollama):
    process, url = production
    ws = _socket(url)
    tokens = [f" t{i}" for i in range(30)]
    fake_ollama.script(tokens=tokens, delay=0.005)
    frames = ws.chat("stream please")
    assert reply_text(frames) == "".join(tokens) and frames[-1]["type"] == "done"

    fake_ollama.script(tokens=[" x"] * 500, delay=0.02)
    ws.send({"type": "chat", "text": "long", "model": "gemma3:270m"})
    ws.recv_until("chunk")
    ws.send({"type": "chat", "text": "again", "model": "gemma3:270m"})
    ws.send({"type": "stop"})
    frames = ws.recv_until("done")
    assert [f["code"] for f in frames if f["type"] == "error"] == ["busy"]
    assert frames[-1]["stats"]["stopped"] is True
    assert fake_ollama.wait_for_disconnect(2)

    second = _socket(url)  # another browser, with its socket still open at SIGTERM
    assert second.chat("hi")[-1]["type"] == "done"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert time.monotonic() - started < 5  # open sockets do not hold the shutdown
    assert fake_ollama.unloads == ["gemma3:270m"]


def test_export_any_title_through_gunicorn(production):
    from .support.data import TITLES, check_export

    _, url = production
    http = requests.Session()
    http.get(url + "/", timeout=5)
    for title in TITLES:
        check_export(http, url, title)


def test_trickling_clients_do_not_starve_gunicorn(tmp_path, fake_ollama):
    """60 connections trickle a header line every 0.2 s; with 24 threads, stock gthread
    would give each a thread and answer nothing else. Here a page still loads, the
    tricklers are cut at the header deadline, and one address (127.0.0.2, so the count
    does not depend on when the server notices other closes) is capped."""
    process, lines = start_run_py(
        tmp_path / "data", fake_ollama.url, "--production", "--sockets-total", "8",
        "--header-timeout", "5", "--connections-per-address", "70", "--limit-loopback")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        port = int(url.rsplit(":", 1)[1])
        tricklers = []
        for _ in range(60):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            tricklers.append(conn)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.2):
                for conn in tricklers:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"X-Slow: 1\r\n")

        threading.Thread(target=trickle, daemon=True).start()
        try:
            page = requests.get(url + "/", timeout=10)  # would time out when starved
            assert page.status_code == 200
            extra = [socket.create_connection(("127.0.0.1", port), timeout=10,
                                              source_address=("127.0.0.2", 0))
                     for _ in range(80)]  # past the cap of 70
            # Those past the cap are closed at once; the others wait for a header.
            closed: set[socket.socket] = set()
            deadline = time.monotonic() + 3.0  # well before the header deadline
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([c for c in extra if c not in closed], [],
                                               [], left)
                closed.update(readable)
            for conn in extra:
                conn.close()
            assert len(closed) == 10
            cut = 0
            for conn in tricklers:  # the header deadline closes them
                try:
                    cut += conn.recv(1) in (b"", b"H")  # EOF, or gunicorn's 400
                except ConnectionError:  # closed with our trickle unread: a reset
                    cut += 1
                except TimeoutError:
                    pass
            assert cut == len(tricklers)
        finally:
            stop.set()
            for conn in tricklers:
                conn.close()
    finally:
        process.kill()
        process.wait(timeout=10)
