"""`python run.py` is the one command that starts the app."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from .support.live import close_all, ended_by_server, start_run_py, trickle, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_run_py_starts_and_prints_the_url(tmp_path, fake_ollama):
    env = {**os.environ, "WEBCHAT_DATA_DIR": str(tmp_path / "data"), "OLLAMA_HOST": "",
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", "0", "--ollama-url", fake_ollama.url],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        url = match.group(0)
        assert requests.get(url, timeout=5).status_code == 200
        models = requests.get(url + "api/models", timeout=5).json()["models"]
        assert any(m["name"] == "gemma3:270m" for m in models)
        secret = tmp_path / "data" / "secret_key"
        assert secret.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "data" / "webchat.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    for flag in ("--host", "--port", "--ollama-url", "--data-dir", "--max-history"):
        assert flag in out
    assert "WEBCHAT_OLLAMA_URL" in out and "OLLAMA_HOST" in out


def _help_blocks() -> dict[str, str]:
    """`--help`'s text for each flag, its lines joined."""
    out = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    options = out.split("options:", 1)[1]
    blocks = re.split(r"\n  (?=--)", options)
    return {block.split()[0]: " ".join(block.split()) for block in blocks[1:]}


def test_help_states_each_default_once():
    blocks = _help_blocks()
    assert "OLLAMA_HOST read as Ollama reads it" in blocks["--ollama-url"]
    assert "generated once" in blocks["--token"]
    twice = {flag: text for flag, text in blocks.items() if text.count("default:") > 1}
    assert not twice, twice
    assert "default: 8765" in blocks["--port"]  # the others still say theirs


def test_lan_with_a_loopback_host_is_warned_and_the_host_kept(tmp_path, fake_ollama):
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url,
                                  "--host", "127.0.0.3", "--lan")
    try:
        warning = [line for line in lines if line.startswith("WARNING: --lan ignored")]
        assert warning and "127.0.0.3" in warning[0], lines
        url = re.search(r"http://127\.0\.0\.3:\d+/", "".join(lines)).group(0)
        assert requests.get(url, timeout=5).status_code == 200  # loopback: no token
        port = url.rsplit(":", 1)[1].strip("/")
        with pytest.raises(requests.ConnectionError):  # not on every interface
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_the_banner_says_when_ollama_is_unreachable(tmp_path, fake_ollama):
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    assert not any("not answering" in line for line in lines), lines
    down = "http://127.0.0.1:1"  # nothing listens on port 1
    process, lines = start_run_py(tmp_path / "data", down)
    try:
        warning = [line for line in lines if line.startswith("WARNING: Ollama at")]
        assert warning and down in warning[0] and "not answering" in warning[0], lines
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_dev_server_closes_a_silent_connection_and_still_serves(tmp_path, fake_ollama):
    """`--idle-timeout`: a connection that sends nothing is closed once the limit passes,
    while ordinary requests, before and after, are answered."""
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--idle-timeout", "1")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=1) as silent:
            assert requests.get(url + "/api/me", timeout=5).status_code == 200
            deadline = time.monotonic() + 30  # generous: the limit is 1 s
            closed = False
            while not closed and time.monotonic() < deadline:
                try:
                    closed = silent.recv(1) == b""
                except TimeoutError:
                    continue  # still open: keep waiting
                except ConnectionResetError:
                    closed = True
            assert closed, "a connection silent past --idle-timeout was left open"
        assert requests.get(url + "/", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def _threads(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"Threads:\s+(\d+)", status).group(1))


def test_dev_server_cuts_a_header_that_trickles_past_its_deadline(tmp_path, fake_ollama):
    """`--header-timeout` on the development server: 30 requests that send a header line
    every 0.3 s (never silent, so --idle-timeout never fires) each held a thread for as
    long as they trickled. They are closed at the deadline and their threads end, while
    a page loads meanwhile."""
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url, "--header-timeout", "2")
    tricklers: list[socket.socket] = []
    stop = threading.Event()  # (until the trickle starts)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        port = int(url.rsplit(":", 1)[1])
        assert requests.get(url + "/", timeout=10).status_code == 200
        before = _threads(process.pid)
        for _ in range(30):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            tricklers.append(conn)
        stop = trickle(tricklers, b"X-Slow: 1\r\n", 0.3)
        assert requests.get(url + "/", timeout=10).status_code == 200
        deadline = time.monotonic() + 30  # generous: the limit is 2 s
        cut = sum(ended_by_server(conn, max(0.01, deadline - time.monotonic()))
                  for conn in tricklers)
        assert cut == len(tricklers)
        assert wait_until(lambda: _threads(process.pid) <= before + 2, timeout=10)
    finally:
        stop.set()
        close_all(process, tricklers)
