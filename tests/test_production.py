"""The same chat through gunicorn's threaded worker (`run.py --production`)."""

from __future__ import annotations

import re
import signal
import time

import pytest
import requests

from .live import ChatSocket, reply_text, start_run_py

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
    from .test_hardening import TITLES, check_export

    _, url = production
    http = requests.Session()
    http.get(url + "/", timeout=5)
    for title in TITLES:
        check_export(http, url, title)
