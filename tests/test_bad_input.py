"""Input past what the server takes is a clear 4xx naming what is wrong, never a 500:
numbers past what Ollama's Go types hold, odd JSON types, malformed or over-cap bodies."""

from __future__ import annotations

import contextlib
import re
import socket

import pytest
import requests

from .support.live import start_run_py
from .support.wire import read_answer

HUGE = "1" + "0" * 400  # an int Python's float() cannot take: OverflowError
PAST_RANGE = ["1e19", "10000000000000000000", HUGE]
NUMBER_FIELDS = [("options.temperature", '{"options": {"temperature": N}}'),
                 ("options.top_p", '{"options": {"top_p": N}}'),
                 ("options.repeat_penalty", '{"options": {"repeat_penalty": N}}'),
                 ("options.top_k", '{"options": {"top_k": N}}'),
                 ("keep_alive", '{"keep_alive": N}')]


def test_numbers_past_range_are_a_400_naming_the_field(user, live_server):
    created = user.http.post(live_server.url + "/api/conversations", json={}, timeout=5)
    url = f"{live_server.url}/api/conversations/{created.json()['id']}"
    for field, settings in NUMBER_FIELDS:
        for number in PAST_RANGE:
            body = '{"settings": ' + settings.replace("N", number) + "}"
            response = user.http.patch(url, data=body, timeout=5,
                                       headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (field, number[:20], response.text[:200])
            assert response.json()["field"] == field, (field, number[:20])


def test_numbers_past_range_in_a_chat_frame_name_the_field(user, fake_ollama):
    ws = user.socket()
    for field, settings in NUMBER_FIELDS:
        for number in PAST_RANGE:
            frame = ('{"type": "chat", "text": "hi", "model": "gemma3:270m", '
                     + settings.replace("N", number)[1:])
            ws.send(frame)
            error = ws.recv()
            assert error["type"] == "error" and error["code"] == "invalid", (field, error)
            assert error["field"] == field, (field, number[:20], error)
    assert fake_ollama.last_payload("/api/chat") is None  # nothing reached Ollama
    assert ws.chat("still here")[-1]["type"] == "done"


def test_keep_alive_past_gos_longest_duration_is_refused(user, live_server):
    created = user.http.post(live_server.url + "/api/conversations", json={}, timeout=5)
    url = f"{live_server.url}/api/conversations/{created.json()['id']}"
    for text, status in [("2562047h", 200), ("2562048h", 400), ("9" * 40, 400),
                         ("99999999999999999999h", 400), ("-1", 200)]:
        response = user.http.patch(url, json={"settings": {"keep_alive": text}}, timeout=5)
        assert response.status_code == status, (text, response.text)


def test_an_import_with_a_list_as_role_is_a_400(user, live_server):
    for role in (["user"], {"a": 1}, 5, None):
        response = user.http.post(live_server.url + "/api/conversations/import", json={
            "format": "ollama-webchat/1", "messages": [{"role": role, "content": "x"}]},
            timeout=5)
        assert response.status_code == 400 and "role" in response.json()["error"], role


def test_malformed_json_makes_no_conversation(user, live_server):
    for body in ('{"title": ', "[1, 2", "nul", '{"title": "x"} trailing'):
        response = user.http.post(live_server.url + "/api/conversations", data=body,
                                  headers={"Content-Type": "application/json"}, timeout=5)
        assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    empty = user.http.post(live_server.url + "/api/conversations", timeout=5)
    assert empty.status_code == 201  # no body at all: a new, untitled conversation
    listed = user.http.get(live_server.url + "/api/conversations", timeout=5).json()
    assert len(listed["conversations"]) == 1


def chunked_post(port: int, path: str, cookie: str, size: int, method: str = "POST") -> str:
    """A chunked JSON body of `size` bytes (a title that long), on a raw socket."""
    body = b'{"title": "' + b"x" * size + b'"}'
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Cookie: {cookie}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        with contextlib.suppress(OSError):  # the server may stop reading at the cap
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        return read_answer(conn)


def test_an_over_cap_chunked_body_is_413_on_every_route(user, live_server):
    created = user.http.post(live_server.url + "/api/conversations", json={}, timeout=5)
    cid = created.json()["id"]
    routes = [("POST", "/api/conversations"), ("PATCH", f"/api/conversations/{cid}"),
              ("POST", "/api/unload"), ("POST", "/api/load"), ("DELETE", "/api/models"),
              ("POST", f"/api/conversations/{cid}/restore"),
              ("POST", f"/api/conversations/{cid}/branch")]
    for method, path in routes:
        answer = chunked_post(live_server.port, path, user.cookie, 2 * 1024 * 1024, method)
        assert answer.startswith("HTTP/1.1 413"), (path, answer[:120])
        assert "the limit is 1.0 MB" in answer, path
    small = chunked_post(live_server.port, f"/api/conversations/{cid}", user.cookie, 100,
                         "PATCH")
    assert small.startswith("HTTP/1.1 200") and '"title":"' + "x" * 100 in small
    listed = user.http.get(live_server.url + "/api/conversations", timeout=5).json()
    assert len(listed["conversations"]) == 1  # the 2 MB POST made none


def test_an_over_cap_chunked_body_is_413_under_gunicorn_too(tmp_path, fake_ollama):
    pytest.importorskip("gunicorn")
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--production")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        http = requests.Session()
        http.get(url + "/", timeout=5).raise_for_status()
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        port = int(url.rsplit(":", 1)[1])
        for path in ("/api/conversations", "/api/unload"):
            answer = chunked_post(port, path, cookie, 2 * 1024 * 1024)
            assert answer.startswith("HTTP/1.1 413"), (path, answer[:120])
        assert http.get(url + "/api/conversations", timeout=5).json()["conversations"] == []
    finally:
        process.kill()
        process.wait(timeout=10)
