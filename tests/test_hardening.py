"""Safe to share: exports of any title, no upstream redirects, private files, body caps."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import stat
import time

import pytest
import requests

from webchat import create_app, shutdown
from webchat.guard.netinfo import lan_addresses

from .support.data import TITLES, check_export
from .support.fake_ollama import FakeOllama
from .support.live import ChatSocket, reply_text, start_run_py, wait_until
from .support.slow_reader import LONG_FAST_REPLY, close_after_reading, send_frame, slow_reader
from .support.wire import peak_memory_mb, raw_get, read_answer


def test_export_any_title_on_the_dev_server(user, live_server):
    for title in TITLES:
        check_export(user.http, live_server.url, title)


def test_a_redirect_from_ollama_is_never_followed(user, fake_ollama):
    with FakeOllama() as elsewhere:
        fake_ollama.redirect_to = elsewhere.url
        frames = user.socket().chat("my secret history")
        assert frames[-1]["type"] == "error"
        assert "redirect" in frames[-1]["message"]
        assert reply_text(frames) == ""
        models = user.http.get(user.server.url + "/api/models", timeout=5)
        assert models.status_code == 502 and "redirect" in models.json()["error"]
        assert elsewhere.requests == []


def test_data_folder_and_files_made_private_at_every_start(tmp_path, fake_ollama):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "secret_key").write_text("k" * 40)
    (data / "secret_key").chmod(0o644)
    app = create_app({"DATA_DIR": str(data), "OLLAMA_URL": fake_ollama.url})
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file()]
        assert any(p.name == "webchat.sqlite3" for p in files)
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {
            p.name: 0o600 for p in files}
    finally:
        shutdown(app, unload=False)






def test_a_huge_chunked_import_gets_413_and_memory_stays_bounded(tmp_path, fake_ollama):
    """No Content-Length: the cap holds on the stream, and the body is not kept."""
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        port = int(url.rsplit(":", 1)[1])
        before = peak_memory_mb(process.pid)
        body_mb = 100
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            conn.sendall(f"POST /api/conversations/import HTTP/1.1\r\nHost: {url[7:]}\r\n"
                         "Content-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n".encode())
            chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
            with contextlib.suppress(OSError):  # the server may stop reading
                for _ in range(body_mb):
                    conn.sendall(chunk)
                conn.sendall(b"0\r\n\r\n")
            answer = read_answer(conn)
        assert answer.startswith("HTTP/1.1 413")
        assert 'The file is too large' in answer
        assert peak_memory_mb(process.pid) - before < body_mb * 0.6
    finally:
        process.kill()
        process.wait(timeout=10)


def test_bodies_are_capped_per_route_with_a_json_413(user, live_server):
    big = {"title": "x" * (2 * 1024 * 1024)}
    response = user.http.post(live_server.url + "/api/conversations", json=big, timeout=5)
    assert response.status_code == 413 and "the limit is 1.0 MB" in response.json()["error"]
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=5) as conn:
        conn.sendall(f"POST /api/unload HTTP/1.1\r\nHost: 127.0.0.1:{live_server.port}\r\n"
                     f"Content-Length: {200 * 1024 * 1024}\r\n\r\n{{".encode())
        answer = read_answer(conn)
    assert answer.startswith("HTTP/1.1 413") and '{"error":' in answer




WS_UPGRADE = ("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")


REBINDING_TARGETS = [("/", "GET", ()), ("/api/history", "GET", ()), ("/api/models", "GET", ()),
                     ("/api/unload", "POST", ()), ("/ws", "GET", WS_UPGRADE)]


def test_dns_rebinding_a_foreign_host_is_refused(live_server, fake_ollama):
    foreign = f"attacker.example:{live_server.port}"
    for path, method, extra in REBINDING_TARGETS:
        answer = raw_get(live_server.port, path, foreign, f"Origin: http://{foreign}",
                         *extra, method=method)
        assert answer.startswith("HTTP/1.1 421"), (path, answer[:200])
        assert "does not answer to the name" in answer
    assert not any(p.startswith("/api/") for _, p, _ in fake_ollama.requests)
    for path, method, extra in REBINDING_TARGETS:
        own = raw_get(live_server.port, path, f"127.0.0.1:{live_server.port}", *extra,
                      f"Origin: http://127.0.0.1:{live_server.port}", method=method)
        assert not own.startswith("HTTP/1.1 421"), path


OWN_NAMES = [
    ("localhost:{port}", True), ("[::1]:{port}", True), ("127.0.0.1:{port}", True),
    ("LOCALHOST.:{port}", True), ("127.0.0.1:1", False), ("127.0.0.1", False),
    ("127.0.0.2:{port}", False), ("0.0.0.0:{port}", False), ("", False),
    ("[::1:{port}", False), ("localhost:{port}@evil.example", False)]


def test_own_names_with_the_port(live_server):
    for host, ok in OWN_NAMES:
        host = host.format(port=live_server.port)
        answer = raw_get(live_server.port, "/api/pulls", host)
        assert answer.startswith("HTTP/1.1 421") != ok, (host, answer[:100])


def test_origin_is_checked_against_own_names_scheme_included(user, live_server):
    own = f"127.0.0.1:{live_server.port}"
    for origin, status in [(f"http://{own}", 201), (f"https://{own}", 403),
                           (f"http://localhost:{live_server.port}", 201),
                           ("http://127.0.0.1:1", 403)]:
        response = user.http.post(live_server.url + "/api/conversations", json={},
                                  headers={"Origin": origin}, timeout=5)
        assert response.status_code == status, origin


def test_allowed_host_and_origin_for_a_reverse_proxy(make_server):
    server = make_server(ALLOWED_HOSTS="chat.lan", ALLOWED_ORIGINS="https://proxy.example:8443")
    for host in ("chat.lan", "chat.lan:9000", "proxy.example:8443"):
        assert raw_get(server.port, "/api/pulls", host).startswith("HTTP/1.1 200")
    assert raw_get(server.port, "/api/pulls", "proxy.example").startswith("HTTP/1.1 421")
    ok = raw_get(server.port, "/api/unload", "proxy.example:8443",
                 "Origin: https://proxy.example:8443", method="POST")
    assert ok.startswith("HTTP/1.1 400")  # past the checks, to the missing model
    wrong = raw_get(server.port, "/api/unload", "proxy.example:8443",
                    "Origin: http://proxy.example:8443", method="POST")
    assert wrong.startswith("HTTP/1.1 403")


def test_lan_mode_answers_to_the_machines_names(make_server):
    server = make_server(HOST="0.0.0.0", NO_AUTH=True)
    names = [socket.gethostname(), *lan_addresses()]
    for name in names:
        answer = raw_get(server.port, "/api/pulls", f"{name}:{server.port}")
        assert answer.startswith("HTTP/1.1 200"), name
    assert raw_get(server.port, "/api/pulls", f"evil.example:{server.port}").startswith(
        "HTTP/1.1 421")


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


BAD_IDS = [
    "/api/conversations/99999999999999999999999", "/api/conversations/9223372036854775808",
    "/api/conversations/%D9%A3", "/api/conversations/1/messages/99999999999999999999",
    "/api/conversations/%EF%BC%91/export", "/api/history?conversation=%D9%A3",
    "/api/history?conversation=99999999999999999999999", "/api/history?conversation=-1"]


def test_ids_out_of_range_or_not_ascii_are_not_found(user, live_server):
    for path in BAD_IDS:
        response = user.http.get(live_server.url + path, timeout=5)
        assert response.status_code == 404 and "error" in response.json(), path


BAD_ID_FRAMES = [
    {"type": "clear", "conversation": 2**70}, {"type": "retry", "id": 2**70},
    {"type": "edit", "id": -2**70, "text": "x"}, {"type": "chat", "text": "x",
                                                   "model": "gemma3:270m", "conversation": 2**63}]


def test_socket_ids_out_of_range_are_clear_errors(user):
    ws = user.socket()
    for frame in BAD_ID_FRAMES:
        ws.send(frame)
        reply = ws.recv()
        assert reply["type"] == "error" and reply["code"] in ("not_found", "invalid"), frame


SURROGATE = '"\\ud800 broken"'  # BAD in the bodies below
DEEP = "[" * 50_000 + "]" * 50_000


UNSTORABLE = [
    ("POST", "/api/conversations", '{"title": BAD}', "surrogate"),
    ("POST", "/api/conversations", '{"system": BAD}', "surrogate"),
    ("POST", "/api/conversations", '{"settings": {BAD: 1}}', "surrogate"),
    ("POST", "/api/conversations/import",
     '{"format": "ollama-webchat/1", "title": BAD, "messages": []}', "surrogate"),
    ("POST", "/api/unload", DEEP, "nested"),
    ("POST", "/api/conversations/import", DEEP, "nested"),
    ("POST", "/api/conversations/import", '{"format": "ollama-webchat/1", "messages": '
     '[{"role": "user", "content": "x", "created_at": NaN}]}', "NaN"),
    ("POST", "/api/conversations/import", '{"format": "ollama-webchat/1", "messages": '
     '[{"role": "user", "content": "x", "stats": {"t": Infinity}}]}', "Infinity"),
    ("POST", "/api/conversations/import", '{"format": "ollama-webchat/1", "messages": '
     '[{"role": "assistant", "content": "x", "stats": {"t": 1e400}}]}', "too large"),
    ("POST", "/api/conversations/import", '{"format": "ollama-webchat/1", "messages": '
     '[{"role": "user", "content": "x", "created_at": 1e300}]}', "created_at"),
    ("POST", "/api/conversations/import", '{"format": "ollama-webchat/1", "messages": '
     '[{"role": "user", "content": "x", "created_at": -5}]}', "created_at"),
]


def test_unstorable_json_is_a_clear_400(user, live_server):
    for method, path, body, words in UNSTORABLE:
        response = user.http.request(method, live_server.url + path, timeout=10,
                                     data=body.replace("BAD", SURROGATE).encode(),
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, body[:60], response.text)
        assert words in response.json()["error"], (path, body[:60])


UNSTORABLE_FRAMES = [
    '{"type": "chat", "model": "gemma3:270m", "text": BAD}',
    '{"type": "system", "text": BAD}', DEEP,
    '{"type": "chat", "model": "gemma3:270m", "text": "x", "options": {"seed": NaN}}']


def test_unstorable_frames_are_clear_errors(user):
    ws = user.socket()
    for raw in UNSTORABLE_FRAMES:
        ws.send(raw.replace("BAD", SURROGATE))
        reply = ws.recv()
        assert reply["type"] == "error" and reply["code"] == "bad_frame", raw[:60]
    ws.send({"type": "clear"})
    assert ws.recv()["type"] == "cleared"  # the socket lives on


def test_history_is_always_valid_json(user, live_server):
    ws = user.socket()
    ws.chat("hello")
    history = user.history()
    with live_server.services.sessions.db.transaction() as conn:
        conn.execute("UPDATE messages SET stats = ? WHERE id = ?",
                      ('{"tokens_per_second": Infinity, "eval_count": NaN}',
                       history["messages"][1]["id"]))
    response = user.http.get(live_server.url + "/api/history", timeout=5)
    assert response.status_code == 200
    stats = strict_json(response.text)["messages"][1]["stats"]
    assert stats == {"tokens_per_second": None, "eval_count": None}


def test_non_numeric_sizes_from_ollama_do_not_break_loaded(user, live_server, fake_ollama):
    fake_ollama._ps = lambda: [{"name": "odd:1b", "model": "odd:1b", "size": "big",
                                "size_vram": "lots", "expires_at": None}]
    response = user.http.get(live_server.url + "/api/loaded", timeout=5)
    assert response.status_code == 200
    assert response.json()["models"][0]["size_vram"] == 0


def frames_on_time(chat: ChatSocket, gap: float, timeout: float) -> list[dict]:
    """Every frame up to `done` or `error`, failing if any took longer than `gap` s."""
    frames: list[dict] = []
    deadline = time.monotonic() + timeout
    while not frames or frames[-1]["type"] not in ("done", "error"):
        waited = time.monotonic()
        assert waited < deadline, "the reply did not end in time"
        frames.append(chat.recv(timeout=gap))  # TimeoutError: the relay stalled
    return frames


@pytest.fixture(params=["dev", "production"])
def any_server(request, tmp_path, fake_ollama):
    """run.py as users start it: the development server, or --production."""
    if request.param == "production":
        pytest.importorskip("gunicorn")
    flags = ["--production"] if request.param == "production" else []
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, *flags)
    url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
    yield url
    process.kill()
    process.wait(timeout=10)


def _browser(url: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    http.get(url + "/", timeout=10).raise_for_status()
    return http, "; ".join(f"{c.name}={c.value}" for c in http.cookies)


@pytest.mark.parametrize("slow", ["chats", "follows"])
def test_a_reader_that_stops_reading_never_stalls_other_replies(any_server, fake_ollama,
                                                                slow):
    """A client with a 4 KB receive window stops reading a long, fast reply (its own,
    or, in a second tab, one it follows with `watch`). Every other browser's reply keeps
    flowing; the slow one is dropped, and reads why when it reads again."""
    url = any_server
    port = int(url.rsplit(":", 1)[1])
    _, cookie = _browser(url)
    if slow == "chats":
        conn, ws = slow_reader(port, cookie)
        fake_ollama.script(tokens=LONG_FAST_REPLY, delay=0.0005)
        send_frame(conn, ws, {"type": "chat", "text": "long", "model": "gemma3:270m"})
    else:  # a browser's own tab reads on; its second tab follows the reply, reads nothing
        own = ChatSocket(url.replace("http://", "ws://") + "/ws", cookie)
        fake_ollama.script(tokens=LONG_FAST_REPLY, delay=0.001)
        own.send({"type": "chat", "text": "long", "model": "gemma3:270m"})
        text = ""
        while len(text) < 100_000:
            frame = own.recv(timeout=10)
            text += frame.get("text", "") if frame["type"] == "chunk" else ""
        conn, ws = slow_reader(port, cookie)
        send_frame(conn, ws, {"type": "watch", "replies": True})
    assert wait_until(lambda: fake_ollama.active_streams >= 1, timeout=10)

    _, other_cookie = _browser(url)  # another browser, reading as browsers do
    other = ChatSocket(url.replace("http://", "ws://") + "/ws", other_cookie)
    tokens = [f" n{i}" for i in range(150)]
    fake_ollama.script(tokens=tokens, delay=0.02)
    other.send({"type": "chat", "text": "hello", "model": "gemma3:270m"})
    frames = frames_on_time(other, gap=10, timeout=40)  # a stall was 55-75 s
    assert frames[-1]["type"] == "done" and reply_text(frames) == "".join(tokens)
    # Once the long reply has all left the stand-in, more of it was sent than a reader
    # may leave unread: reading again (within DROP_LINGER) it learns why it was dropped.
    assert wait_until(lambda: fake_ollama.active_streams == 0, timeout=30)
    closed, seen = close_after_reading(conn, ws)
    assert closed is not None, seen[-5:]
    assert closed.code == 1008 and "behind" in closed.reason
    conn.close()
    if slow == "follows":
        rest = frames_on_time(own, gap=10, timeout=60)  # the tab that reads gets it all
        text += reply_text(rest)
        assert rest[-1]["type"] == "done" and text == "".join(LONG_FAST_REPLY)
