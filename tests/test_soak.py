"""Many browsers chatting, stopping, clearing and unloading at random for a while.

Bounded: WEBCHAT_SOAK_SECONDS (default 8; run it for minutes with e.g. 180). Among them
one client with a 4 KB receive window asks for a long, fast reply and never reads it:
every other reply still comes whole and on time, and that client is dropped. Afterwards
no unexpected error frames, no leaked threads or file descriptors, memory flat.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

from webchat.ollama.client import OllamaClient
from webchat.store.database import IDLE_READERS

from .support.fake_ollama import connection_thread_name
from .support.live import BrowserClient, LiveServer, wait_until
from .support.slow_reader import LONG_FAST_REPLY, close_after_reading, send_frame, slow_reader

SECONDS = float(os.environ.get("WEBCHAT_SOAK_SECONDS", "8"))
BROWSERS = 8
EXPECTED_ERRORS = {"busy"}  # a chat sent while the last one is still finishing


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _threads(ollama_port: int) -> tuple[list[str], int]:
    """The process's threads, minus those of the stand-in serving pooled connections.

    The app keeps up to OllamaClient.POOL_SIZE idle keep-alive connections to Ollama, and
    the stand-in (in this process) holds one thread on each: reuse, not a leak, so they
    are counted apart and checked against that bound.
    """
    pooled_name = connection_thread_name(ollama_port)
    names = [thread.name for thread in threading.enumerate()]
    others = [name for name in names if name != pooled_name]
    return others, len(names) - len(others)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _browse(server: LiveServer, seed: int, stop_at: float, problems: list[str]) -> None:
    rng = random.Random(seed)
    user = BrowserClient(server)
    ws = user.socket()
    try:
        while time.monotonic() < stop_at:
            action = rng.choice(["chat", "chat", "chat", "stop", "clear", "unload", "models"])
            if action in ("chat", "stop"):
                ws.send({"type": "chat", "text": f"hello {rng.randint(0, 999)} " * 3,
                         "model": "gemma3:270m"})
                if action == "stop":
                    ws.recv_until("start", "error")
                    ws.send({"type": "stop"})
                frames = ws.recv_until("done", "error", timeout=15)
            elif action == "clear":
                ws.send({"type": "clear"})
                frames = ws.recv_until("cleared", "error")
            elif action == "models":
                ws.send({"type": "chat", "text": "/models", "model": "gemma3:270m"})
                frames = ws.recv_until("info", "error")
            else:
                response = user.http.post(server.url + "/api/unload",
                                          json={"model": "gemma3:270m"}, timeout=10)
                if response.status_code != 200:
                    problems.append(f"unload {response.status_code}: {response.text}")
                continue
            for frame in frames:
                if frame["type"] == "error" and frame.get("code") not in EXPECTED_ERRORS:
                    problems.append(f"{action}: {frame}")
    except Exception as exc:  # a dead socket or a timeout is a finding, not a crash
        problems.append(f"{action}: {exc!r}")
    finally:
        user.close()


def test_soak(make_server, fake_ollama):
    fake_ollama.token_delay = 0.003
    server = make_server(MESSAGES_PER_MINUTE=100000, UNLOAD_GRACE=0.2)
    warm = BrowserClient(server)  # first use imports and caches things: not a leak
    warm.socket().chat("warm up")
    warm.close()
    time.sleep(0.5)
    (threads, pooled_before), fds, rss = _threads(fake_ollama.port), _fds(), _rss_mb()
    database = server.services.sessions.db
    readers_before = database.idle_readers
    problems: list[str] = []
    stalled = BrowserClient(server)  # asks first, so the long reply is its own
    conn, ws = slow_reader(server.port, stalled.cookie)
    fake_ollama.script(tokens=LONG_FAST_REPLY, delay=0.0005)
    send_frame(conn, ws, {"type": "chat", "text": "long", "model": "gemma3:270m"})
    assert wait_until(lambda: fake_ollama.active_streams >= 1, timeout=10)
    stop_at = time.monotonic() + SECONDS
    workers = [threading.Thread(target=_browse, args=(server, seed, stop_at, problems))
               for seed in range(BROWSERS)]
    for worker in workers:
        worker.start()
    rss_midway = None
    while any(worker.is_alive() for worker in workers):
        time.sleep(0.25)
        if rss_midway is None and time.monotonic() > stop_at - SECONDS / 2:
            rss_midway = _rss_mb()
    assert problems == []  # every reply whole, none later than recv_until allows
    assert wait_until(lambda: any(c.dropped for c in list(server.services.connections)),
                      timeout=30)  # the long reply got far enough ahead of it
    closed, seen = close_after_reading(conn, ws)  # reading at last: it learns why
    conn.close()
    stalled.close()
    assert closed is not None and closed.code == 1008, (closed, seen[-5:])
    assert wait_until(lambda: len(_threads(fake_ollama.port)[0]) <= len(threads) + 1,
                      timeout=10), (threads, _threads(fake_ollama.port))
    pooled = _threads(fake_ollama.port)[1]
    assert pooled <= OllamaClient.POOL_SIZE, pooled
    # each pooled connection is two descriptors here: the app's end and the stand-in's;
    # each idle SQLite reader two more (the database file and its WAL), at most
    # IDLE_READERS of them: reuse, not a leak
    new_pooled = max(0, pooled - pooled_before)
    readers = database.idle_readers
    assert readers <= IDLE_READERS, readers
    new_readers = max(0, readers - readers_before)
    assert wait_until(lambda: _fds() <= fds + 2 * new_pooled + 2 * new_readers + 2,
                      timeout=10), (_fds(), fds, pooled_before, pooled, readers_before, readers)
    assert _rss_mb() - rss < 40, (rss, rss_midway, _rss_mb())
    if SECONDS >= 60:  # long runs: memory stays flat after warming up
        assert _rss_mb() - (rss_midway or rss) < 15
