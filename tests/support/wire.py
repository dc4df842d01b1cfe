"""Raw sockets to a live server: answers read by hand, pages fetched with any Host, a
WebSocket opened without a client library, the memory a process peaked at."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
from pathlib import Path

import requests


def browser_cookie(url: str) -> str:
    http = requests.Session()
    http.get(url + "/", timeout=5).raise_for_status()
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def ws_connect(port: int, cookie: str) -> tuple[socket.socket, str]:
    """A raw WebSocket handshake; the socket and the server's 101 head."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nCookie: {cookie}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        piece = conn.recv(4096)
        if not piece:
            break
        head += piece
    return conn, head.decode("latin-1")


def raw_get(port: int, path: str, host: str, *extra: str, method: str = "GET") -> str:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", *extra]
    if method == "POST":
        head += ["Content-Type: application/json", "Content-Length: 2"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n" + ("{}" if method == "POST" else ""))
                     .encode())
        return read_answer(conn)


def peak_memory_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024


def read_answer(conn: socket.socket) -> str:
    """What the server answered, up to its closing the connection or a pause."""
    data = b""
    with contextlib.suppress(OSError):
        conn.settimeout(1.0)
        while piece := conn.recv(65536):
            data += piece
            if b"\r\n\r\n" in data and data.endswith(b"}\n"):
                break
    return data.decode("latin-1")
