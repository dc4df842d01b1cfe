"""Model operations (load, unload, show, pull, delete) are each a request to Ollama:
limited per browser and per address, with a clear 429, and a burst leaves nothing that
slows the shutdown."""

from __future__ import annotations

import re
import signal
import time

import requests

from .support.live import BrowserClient, LiveServer, start_run_py

GHOSTS = [f"ghost-{index}:1b" for index in range(1200)]  # names Ollama does not have


def to_ollama(fake_ollama, *paths: str) -> int:
    return sum(1 for _, path, _ in fake_ollama.requests if path in paths)


def test_a_burst_of_loads_is_limited_and_sigterm_stays_prompt(tmp_path, fake_ollama):
    """The issue: 20,000 loads of names that do not exist were 20,000 requests to
    Ollama, and SIGTERM then took 23 s (each left a claim to unload)."""
    process, lines = start_run_py(tmp_path / "data", fake_ollama.url)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        http = requests.Session()
        http.get(url + "/", timeout=5).raise_for_status()
        statuses: list[int] = []
        refused = None
        started = time.monotonic()
        for name in GHOSTS:
            answer = http.post(url + "/api/load", json={"model": name}, timeout=10)
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                refused = answer
        minutes = (time.monotonic() - started) // 60 + 1  # a busy machine takes longer
        assert statuses[:61] == [404] * 60 + [429], statuses[:70]
        assert statuses.count(404) <= 60 * minutes, (statuses.count(404), minutes)
        body = refused.json()
        assert body["code"] == "rate_limited" and "at most 60 a minute" in body["error"]
        assert 0 < int(refused.headers["Retry-After"]) <= 61
        assert to_ollama(fake_ollama, "/api/generate") == statuses.count(404)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - started < 5
        unloads = [p for _, path, p in fake_ollama.requests
                   if path == "/api/generate" and (p or {}).get("keep_alive") == 0]
        assert unloads == []  # nothing was loaded: nothing to unload on the way out
    finally:
        process.kill()
        process.wait(timeout=10)


def test_every_model_operation_counts_per_browser(tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, MODEL_OPS_PER_MINUTE=5)
    try:
        user = BrowserClient(server)
        url = server.url
        calls = [lambda: user.http.get(url + "/api/show?model=gemma3:270m", timeout=5),
                 lambda: user.http.post(url + "/api/load", json={"model": "gemma3:270m"},
                                        timeout=5),
                 lambda: user.http.post(url + "/api/unload", json={"model": "gemma3:270m"},
                                        timeout=5),
                 lambda: user.http.delete(url + "/api/models", json={"model": "nope:1b"},
                                          timeout=5),
                 lambda: user.http.get(url + "/api/show?model=gemma3:270m", timeout=5)]
        assert [call().status_code for call in calls] == [200, 200, 200, 404, 200]
        before = len(fake_ollama.requests)
        assert all(call().status_code == 429 for call in calls)
        assert len(fake_ollama.requests) == before  # refused ones never reach Ollama
        ws = user.socket()
        for frame in ({"type": "pull", "model": "new:1b"},
                      {"type": "chat", "text": "/unload gemma3:270m", "model": "gemma3:270m"}):
            ws.send(frame)
            error = ws.recv()
            assert error["code"] == "rate_limited" and error["retry_after"] > 0, error
        other = BrowserClient(server)  # another browser has its own count
        assert other.http.get(url + "/api/show?model=gemma3:270m", timeout=5).ok
        assert user.http.get(url + "/api/models", timeout=5).ok  # listing is no operation
    finally:
        server.stop()


def test_fresh_cookies_share_their_address_limit(tmp_path, fake_ollama):
    server = LiveServer(tmp_path / "data", fake_ollama.url, MODEL_OPS_PER_ADDRESS=6,
                        PEER_LIMITS_ON_LOOPBACK=True)
    try:
        answers = []
        for _ in range(4):
            browser = BrowserClient(server)
            for _ in range(2):
                answers.append(browser.http.get(
                    server.url + "/api/show?model=gemma3:270m", timeout=5))
        assert [a.status_code for a in answers] == [200] * 6 + [429] * 2
        assert "from this address" in answers[-1].json()["error"]
    finally:
        server.stop()
