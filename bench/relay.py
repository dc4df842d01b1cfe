"""Relay overhead: a reply read straight from the stand-in Ollama vs. through the app's /ws.

The stand-in streams as fast as it can (token delay 0). Three processes, as in real use:
the stand-in, the app (`python run.py`), and this script as the client. Rounds of the two
paths are interleaved so drifts (CPU frequency, page cache) hit both alike. Each round
also runs the app path once more with a socket that offers permessage-deflate, as
browsers do (the app then compresses every frame): `deflate_tps`.

    python bench/relay.py [--tokens 5000] [--rounds 9] [--first 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import _common
import requests
from _common import MODEL, bench_line, median, target

from tests.support.live import BrowserClient, reply_text

ECHO_PREFIX = 3  # the stand-in answers "You", " said", ":" before echoing each word


def words_for(tokens: int) -> list[str]:
    return [str(i) for i in range(tokens - ECHO_PREFIX)]


def expected_text(words: list[str]) -> str:
    return "You said:" + "".join(" " + word for word in words)


def direct(fake_url: str, words: list[str], http: requests.Session | None = None,
           ) -> tuple[float, float]:
    """Read one reply from the stand-in with requests; (seconds to first token, tokens/s).

    A new connection each time, as the app makes (it closes its response right after the
    `done` line, before the chunked terminator, so urllib3 cannot pool the connection).
    Over a reused connection the stand-in's first token waits ~40 ms: it writes the
    headers and the first line as two small segments without TCP_NODELAY (Nagle), and
    the reader's kernel delays its ACK. Real Ollama (Go) sets TCP_NODELAY.
    """
    own = http is None
    http = http or requests.Session()
    payload = {"model": MODEL, "stream": True,
               "messages": [{"role": "user", "content": " ".join(words)}]}
    pieces: list[str] = []
    first = 0.0
    started = time.perf_counter()
    with http.post(fake_url + "/api/chat", json=payload, stream=True, timeout=(5, 60)) as r:
        r.raise_for_status()
        buffer = b""
        for chunk in r.iter_content(chunk_size=None):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                data = json.loads(line)
                text = data.get("message", {}).get("content", "")
                if text:
                    if not pieces:
                        first = time.perf_counter() - started
                    pieces.append(text)
    elapsed = time.perf_counter() - started
    if own:
        http.close()
    if "".join(pieces) != expected_text(words):
        raise AssertionError("the direct stream lost or reordered tokens")
    return first, len(pieces) / elapsed


def through_app(socket: Any, words: list[str]) -> tuple[float, float]:
    """Send one chat frame; (seconds to the first chunk, tokens/s until done).

    Tokens, not frames: when the browser falls behind, the app joins queued chunks into
    one frame, so frames/s would undercount. The text is checked whole, so the number of
    tokens delivered is the number the stand-in sent (3 + one per word)."""
    frames = []
    first = 0.0
    started = time.perf_counter()
    socket.send({"type": "chat", "text": " ".join(words), "model": MODEL})
    while True:
        frame = socket.recv(timeout=60)
        frames.append(frame)
        if frame["type"] == "chunk" and not first:
            first = time.perf_counter() - started
        if frame["type"] in ("done", "error"):
            break
    elapsed = time.perf_counter() - started
    if frames[-1]["type"] != "done" or reply_text(frames) != expected_text(words):
        raise AssertionError(f"the app's reply was incomplete: {frames[-1]}")
    return first, (len(words) + 3) / elapsed


def nagle_check(fake_url: str, data_dir: Path, replies: int) -> dict[str, float]:
    """First-chunk median with the app in this process, served as run.py serves it, once
    as is and once with TCP_NODELAY set on each accepted socket (by a request handler
    subclass here; the app's code is untouched). A diagnostic, not the headline figure."""
    import logging
    import socket as sockets
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from webchat import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    figures: dict[str, float] = {}
    for nodelay in (False, True):
        class Handler(WSGIRequestHandler):
            set_nodelay = nodelay

            def setup(self) -> None:
                super().setup()
                if self.set_nodelay:
                    self.connection.setsockopt(sockets.IPPROTO_TCP, sockets.TCP_NODELAY, 1)

        app = create_app({"DATA_DIR": str(data_dir / f"nodelay{int(nodelay)}"),
                          "OLLAMA_URL": fake_url, "HOST": "127.0.0.1",
                          **_common.NO_LIMITS_CONFIG})
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            user = BrowserClient(_common.Remote(f"http://127.0.0.1:{server.server_port}"))
            socket = user.socket()
            through_app(socket, words_for(5))
            firsts = [through_app(socket, words_for(5))[0] for _ in range(replies)]
            user.close()
        finally:
            server.shutdown()
            server.server_close()
        figures["nodelay" if nodelay else "default"] = median(firsts) * 1000
    return figures


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks


def main() -> int:
    parser = argparse.ArgumentParser(description="Relay overhead of the app's /ws.")
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--first", type=int, default=30, help="short replies per path")
    args = parser.parse_args()

    long_words, short_words = words_for(args.tokens), words_for(5)
    with _common.temp_dir("relay") as tmp:
        fake, fake_url = _common.start_fake(token_delay=0.0)
        app, remote = _common.start_app(fake_url, tmp / "data", tmp / "app.log",
                                         env=_common.NO_LIMITS)
        try:
            user = BrowserClient(remote)  # duck-typed: only .url and .ws_url are used
            socket = user.socket()
            direct(fake_url, short_words)  # warm up: load the model, open the pools
            through_app(socket, short_words)

            direct_tps, app_tps, deflate_tps = [], [], []
            cpu = {"fake": 0.0, "app": 0.0, "client": 0.0}
            for round_ in range(args.rounds):
                # A fresh browser per long reply, so the app sends a one-message context
                # like the direct request does.
                fresh = BrowserClient(remote)
                plain = fresh.socket()
                order = ["direct", "app"] if round_ % 2 == 0 else ["app", "direct"]
                for path in order:
                    time.sleep(0.1)  # let the previous reply's threads finish
                    if path == "direct":
                        direct_tps.append(direct(fake_url, long_words)[1])
                        continue
                    before = (cpu_seconds(fake.pid), cpu_seconds(app.pid), time.process_time())
                    app_tps.append(through_app(plain, long_words)[1])
                    cpu["fake"] += cpu_seconds(fake.pid) - before[0]
                    cpu["app"] += cpu_seconds(app.pid) - before[1]
                    cpu["client"] += time.process_time() - before[2]
                fresh.close()
                # What a browser gets: it offers permessage-deflate and the app accepts.
                time.sleep(0.1)
                zipped = BrowserClient(remote)
                deflated = _common.deflate_socket(remote.ws_url, zipped.cookie)
                deflate_tps.append(through_app(deflated, long_words)[1])
                deflated.close()
                zipped.close()

            direct_first, app_first, reused_first = [], [], []
            for _ in range(args.first):
                direct_first.append(direct(fake_url, short_words)[0])
                app_first.append(through_app(socket, short_words)[0])
            keep_alive = requests.Session()
            for _ in range(5):
                reused_first.append(direct(fake_url, short_words, keep_alive)[0])
            keep_alive.close()
            nagle = nagle_check(fake_url, tmp, 15)
            user.close()
        finally:
            app.stop()
            fake.stop()

    d_tps, a_tps, z_tps = median(direct_tps), median(app_tps), median(deflate_tps)
    d_first, a_first = median(direct_first) * 1000, median(app_first) * 1000
    # Each round's two paths ran back to back: the median of the paired ratios is less
    # sensitive to the machine drifting during the run than the ratio of the medians.
    ratio = median(a / d for a, d in zip(app_tps, direct_tps, strict=True))
    deflate_ratio = median(z / d for z, d in zip(deflate_tps, direct_tps, strict=True))
    tokens_through_app = args.tokens * args.rounds
    print(f"relay: {args.tokens} tokens x {args.rounds} rounds per path, "
          f"{args.first} short replies per path for the first chunk")
    print(f"  direct  {', '.join(f'{v:.0f}' for v in direct_tps)} tokens/s")
    print(f"  app     {', '.join(f'{v:.0f}' for v in app_tps)} tokens/s")
    print(f"  app+deflate (what a browser negotiates) "
          f"{', '.join(f'{v:.0f}' for v in deflate_tps)} tokens/s")
    print("  CPU per 1000 tokens through the app (plain socket): "
          + ", ".join(f"{name} {seconds / tokens_through_app * 1e6:.0f} ms"
                      for name, seconds in cpu.items()))
    print(f"  first token direct over a reused connection: {median(reused_first) * 1000:.1f} ms"
          " (the stand-in's Nagle + delayed-ACK stall; not used as the baseline)")
    print(f"  first chunk with the app in-process: {nagle['default']:.1f} ms as is, "
          f"{nagle['nodelay']:.1f} ms with TCP_NODELAY on its accepted sockets")
    print(target("ratio >= 0.80", ratio >= 0.80))
    print(target("added first-chunk median < 5 ms", a_first - d_first < 5))
    print(bench_line("relay", tokens=args.tokens, direct_tps=d_tps, app_tps=a_tps,
                     ratio=ratio, deflate_tps=z_tps, deflate_ratio=deflate_ratio,
                     direct_first_ms=d_first,
                     app_first_ms=a_first, added_first_ms=a_first - d_first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
