"""The server killed mid-reply keeps every acknowledged message (SQLite WAL)."""

from __future__ import annotations

import re
import signal
import time

import requests

from .support.live import ChatSocket, reply_text, start_run_py


def _url(lines: list[str]) -> str:
    return re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)


def test_sigkill_mid_reply_then_restart_loses_nothing_acknowledged(tmp_path, fake_ollama):
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url)
    try:
        url = _url(lines)
        http = requests.Session()
        http.get(url + "/", timeout=5)
        cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        ws = ChatSocket(url.replace("http://", "ws://") + "/ws", cookies)
        assert ws.chat("first question")[-1]["type"] == "done"
        fake_ollama.script(tokens=[f" w{i}" for i in range(400)], delay=0.02)
        ws.send({"type": "chat", "text": "second question", "model": "gemma3:270m"})
        frames = ws.recv_until("start")
        deadline = time.monotonic() + 0.8  # past a few of the quarter-second saves
        while time.monotonic() < deadline:
            frames.append(ws.recv())
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    received = reply_text(frames)

    restarted, lines = start_run_py(tmp_path / "data", fake_ollama.url)
    try:
        messages = http.get(_url(lines) + "/api/history", timeout=5).json()["messages"]
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.wait(timeout=10)
    assert [m["content"] for m in messages[:3]] == [
        "first question", "You said: first question", "second question"]
    assert [m["status"] for m in messages[:2]] == ["ok", "ok"]
    cut = messages[3]
    assert cut["role"] == "assistant" and cut["status"] == "interrupted"
    assert cut["content"] and received.startswith(cut["content"])
    assert messages[2]["status"] == "ok"  # it was answered, in part
