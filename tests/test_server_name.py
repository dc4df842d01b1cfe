"""The `Server` header names the app, never versions, on both servers and on the socket's
101 answer (it was `Werkzeug/3.1.8 Python/3.11.7`)."""

from __future__ import annotations

import re
import socket

import pytest

from webchat.config import SERVER_HEADER

from .support.live import start_run_py
from .support.wire import browser_cookie, ws_connect

PATHS = ["/", "/api/pulls", "/static/js/app.js", "/no/such/page", "/api/no-such"]


def server_lines(head: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in head.split("\r\n\r\n")[0].split("\r\n")
            if line.lower().startswith("server:")]


def head_of(port: int, path: str) -> str:
    """A response's head, read until it is whole (a busy machine may take seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data and (piece := conn.recv(65536)):
            data += piece
    return data.decode("latin-1")


def check_server_names(url: str) -> None:
    port = int(url.rsplit(":", 1)[1])
    for path in PATHS:
        answer = head_of(port, path)
        assert server_lines(answer) == [SERVER_HEADER], (path, answer[:300])
    conn, head = ws_connect(port, browser_cookie(url))
    with conn:
        assert head.startswith("HTTP/1.1 101")
        assert server_lines(head) == [SERVER_HEADER], head
    for answer in (head, head_of(port, "/")):
        header = answer.split("\r\n\r\n")[0]
        assert not re.search(r"werkzeug|python|gunicorn", header, re.IGNORECASE), header


@pytest.mark.parametrize("flags", [(), ("--production",)], ids=["dev", "production"])
def test_the_server_header_is_a_plain_name(tmp_path, fake_ollama, flags):
    if flags:
        pytest.importorskip("gunicorn")
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, *flags)
    try:
        check_server_names(re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0))
    finally:
        process.kill()
        process.wait(timeout=10)
