"""The same chat through gunicorn's threaded worker (`run.py --production`)."""

from __future__ import annotations

import re
import select
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from .support.live import ChatSocket, close_all, ended_by_server, reply_text, start_run_py, trickle

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
        stop = trickle(tricklers, b"X-Slow: 1\r\n", 0.2)
        try:
            page = requests.get(url + "/", timeout=10)  # would time out when starved
            assert page.status_code == 200
            extra = [socket.create_connection(("127.0.0.1", port), timeout=10,
                                              source_address=("127.0.0.2", 0))
                     for _ in range(80)]  # past the cap of 70
            # Those past the cap are closed at once; the others wait for a header.
            closed = _closed_within(extra, 3.0)  # well before the header deadline
            for conn in extra:
                conn.close()
            assert closed == 10
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


def _closed_within(conns: list[socket.socket], seconds: float) -> int:
    """How many of these connections the server ended (or answered) within `seconds`."""
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([c for c in conns if c not in closed], [], [], left)
        closed.update(readable)
    return len(closed)


def _gunicorn(tmp_path, fake_ollama, *flags: str) -> tuple[subprocess.Popen, str, int]:
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--production",
                                  "--sockets-total", "8", *flags)  # 24 threads
    url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
    return process, url, int(url.rsplit(":", 1)[1])


def test_bodies_that_trickle_hold_no_thread(tmp_path, fake_ollama):
    """40 requests send their header, then trickle a body (more than the 24 threads).
    A page still loads and a whole POST is answered; the tricklers are cut at the body
    deadline; and connections waiting for their body count toward the per-address cap."""
    process, url, port = _gunicorn(tmp_path, fake_ollama, "--body-timeout", "8",
                                   "--connections-per-address", "45", "--limit-loopback")
    head = (f"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{").encode()
    tricklers: list[socket.socket] = []
    stop = threading.Event()  # (until the trickle starts)
    try:
        for _ in range(40):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10,
                                            source_address=("127.0.0.2", 0))
            conn.sendall(head)
            tricklers.append(conn)
        stop = trickle(tricklers, b" ", 0.3)
        http = requests.Session()
        assert http.get(url + "/", timeout=10).status_code == 200  # starved: a timeout
        created = http.post(url + "/api/conversations", json={"title": "whole"}, timeout=10)
        assert created.status_code == 201
        extra = [socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=("127.0.0.2", 0))
                 for _ in range(10)]  # 40 waiting for a body + 10: past the cap of 45
        for conn in extra:
            conn.sendall(head)
        assert _closed_within(extra, 3.0) == 5  # at once, well before the body deadline
        for conn in extra:
            conn.close()
        assert all(ended_by_server(conn, 20) for conn in tricklers)  # the 8 s body deadline
    finally:
        stop.set()
        close_all(process, tricklers)


def test_closes_never_wait_on_clients_that_stay_open(tmp_path, fake_ollama):
    """`Connection: close` requests whose clients never hang up: gunicorn's own close
    waits up to 2 s for each on the event loop (12 of them froze it ~24 s). Each is
    answered, its end comes at once, and a probe meanwhile is answered at once."""
    process, url, port = _gunicorn(tmp_path, fake_ollama)
    clients: list[socket.socket] = []
    try:
        for _ in range(12):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(f"GET /api/pulls HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            clients.append(conn)  # read nothing, close nothing, for now
        for conn in clients:
            answer = b""
            while b"\r\n\r\n" not in answer:
                piece = conn.recv(65536)
                assert piece, "closed before an answer"
                answer += piece
            assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert requests.get(url + "/api/pulls", timeout=10).status_code == 200
        assert time.monotonic() - started < 3  # the loop was not waiting on anyone
        assert all(ended_by_server(conn, 5) for conn in clients)  # our side closed at once
    finally:
        close_all(process, clients)


def test_idle_keepalive_connections_make_room_for_new_ones(tmp_path, fake_ollama):
    """The worker is full: 36 idle kept-alive connections (as many as --connections-total
    60 leaves past the 24 threads) and 24 that have sent nothing yet. A new client is
    still answered, well before any idle timeout (30 s here): the oldest idle
    connection is closed to make room, and the ones sending a header are left alone."""
    process, url, port = _gunicorn(tmp_path, fake_ollama, "--connections-total", "60",
                                   "--keepalive-timeout", "30", "--header-timeout", "30")
    idle: list[socket.socket] = []
    silent: list[socket.socket] = []
    try:
        for _ in range(36):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(f"GET /api/pulls HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
                         .encode())
            answer = b""
            while not answer.endswith(b"}\n"):  # the JSON answer, whole
                piece = conn.recv(65536)
                assert piece, "a kept-alive connection was closed"
                answer += piece
            assert answer.startswith(b"HTTP/1.1 200") and b"Connection: keep-alive" in answer
            idle.append(conn)
        silent = [socket.create_connection(("127.0.0.1", port), timeout=10)
                  for _ in range(24)]
        time.sleep(0.5)  # let the worker take them all in (then it is full)
        started = time.monotonic()
        assert requests.get(url + "/api/pulls", timeout=15).status_code == 200
        assert time.monotonic() - started < 10  # without room: the 30 s idle timeout
        assert ended_by_server(idle[0], 5)  # the oldest idle one made the room
        assert not any(ended_by_server(conn, 0.2) for conn in silent[:5])  # still open
    finally:
        close_all(process, idle + silent)


def _answer(conn: socket.socket) -> bytes:
    """One whole answer with a Content-Length (its header and body)."""
    answer = b""
    while (end := answer.find(b"\r\n\r\n")) < 0 or len(answer) < end + 4 + int(
            re.search(rb"Content-Length: (\d+)", answer[:end]).group(1)):
        piece = conn.recv(65536)
        assert piece, f"closed before a whole answer: {answer[:200]!r}"
        answer += piece
    return answer


def test_requests_of_every_framing_arrive_whole(tmp_path, fake_ollama):
    """What the worker collects before a thread sees it reaches the app intact: a body
    larger than it keeps in memory, a chunked one sent a few bytes at a time, one sent
    after `100 Continue`, two requests in one write; and a chunked body past its cap
    is answered without waiting for the rest."""
    process, url, port = _gunicorn(tmp_path, fake_ollama)
    try:
        http = requests.Session()
        http.get(url + "/", timeout=10)
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        text = "walrus " * 140_000
        big = {"format": "ollama-webchat/1", "title": "big", "messages": [  # past IN_MEMORY
            {"role": role, "content": text} for role in ("user", "assistant", "user")]}
        imported = http.post(url + "/api/conversations/import", json=big, timeout=30)
        assert imported.status_code == 201, imported.text
        history = http.get(f"{url}/api/history?conversation={imported.json()['id']}",
                           timeout=10).json()
        assert [m["content"] for m in history["messages"]] == [text] * 3

        head = (f"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Cookie: {cookie}\r\nContent-Type: application/json\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            body = b'{"title": "chunked"}'
            for at in range(0, len(body), 3):
                piece = body[at:at + 3]
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.05)
            conn.sendall(b"0\r\n\r\n")
            assert b'"title":"chunked"' in _answer(conn).replace(b" ", b"")
            conn.sendall((head + "Content-Length: 19\r\nExpect: 100-continue\r\n\r\n")
                         .encode())
            assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # once only
            conn.sendall(b'{"title": "asked"} ')
            assert b'"title":"asked"' in _answer(conn).replace(b" ", b"")
            two = (head + "Content-Length: 16\r\n\r\n").encode()
            conn.sendall(two + b'{"title": "one"}' + two + b'{"title": "two"}')
            first = _answer(conn)
            second = first[first.index(b"}\n") + 2:] or _answer(conn)
            assert b'"title":"one"' in first.replace(b" ", b"")
            assert b'"title":"two"' in second.replace(b" ", b"")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
            for _ in range(17):  # past the 1 MB cap; the rest never comes
                conn.sendall(chunk)
            # Answered without waiting for the rest (the app's answer to an over-cap
            # chunked body is issue 18's item 13; it must never be a 500)
            assert re.match(rb"HTTP/1\.1 [234]\d\d ", _answer(conn))
    finally:
        process.kill()
        process.wait(timeout=10)
