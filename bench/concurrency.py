"""Many browsers streaming at once: is every chunk delivered, in order, and how late?

64 browser-like clients (each its own cookie, so its own session) open a socket and send
one message at the same moment; the stand-in answers each with 500 tokens at 50 tokens/s
(token delay 20 ms). Each token names its client and position, so order is checkable.

Added delay per chunk = when the chunk reached its WebSocket client − when the matching
line from the stand-in reached the app's socket. The second time comes from a small
timestamping relay (bench/_tap.py) between the app and the stand-in; the first is taken
by the clients' single polling thread the moment epoll says the socket is readable.
Both are CLOCK_MONOTONIC on this machine, so they compare across processes. See bench/README.md.

    python bench/concurrency.py [--clients 64] [--tokens 500] [--delay 0.02]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import math
import re
import selectors
import sys
import threading
import time
from typing import Any

import _common
from _common import bench_line, percentile, target
from wsproto.events import Request
from wsproto.extensions import PerMessageDeflate

from tests.support.live import BrowserClient, ChatSocket, WebSocketClient

ECHO_PREFIX = ["You", " said", ":"]  # the stand-in's echo reply starts with these
NUMBERED = re.compile(r"^ c(\d+)\.(\d+)$")
LINE = re.compile(rb'\{"model":[^\n]*\}\n')


class StampedClient(WebSocketClient):
    """A client without a reader thread of its own: the one `Poller` thread reads every
    client's socket and notes when each message's bytes came off it. With 64 reader
    threads in one process, each would first wait for the GIL after its recv() returned,
    and that wait, the client's own, was counted as the app's delay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.stamps: list[float] = []
        super().__init__(*args, **kwargs)

    def _thread(self) -> None:
        return  # the Poller reads instead

    def read_ready(self, now: float) -> None:
        data = self.sock.recv(65536)
        if not data:
            self.connected = False
            return
        self.ws.receive_data(data)
        before = len(self.input_buffer)
        self.connected = self._handle_events()
        self.stamps.extend([now] * (len(self.input_buffer) - before))


class Poller:
    """One thread, one epoll: stamps each read the moment the socket is ready."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, client: StampedClient) -> None:
        self.selector.register(client.sock, selectors.EVENT_READ, client)

    def remove(self, client: StampedClient) -> None:
        try:
            self.selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass  # already dropped when it disconnected

    def stop(self) -> None:
        self.running = False
        self.thread.join(2)

    def _run(self) -> None:
        while self.running:
            for key, _ in self.selector.select(0.05):
                now = time.monotonic()
                client: StampedClient = key.data
                try:
                    client.read_ready(now)
                except OSError:
                    client.connected = False
                if not client.connected:
                    self.selector.unregister(key.fileobj)


POLLER: Poller | None = None


class DeflateClient(StampedClient):
    """Offers permessage-deflate, as Chromium and Firefox do (simple-websocket's client
    does not): every frame the app sends it is then compressed, about 7 us more a frame
    in the app (issue 18)."""

    def handshake(self) -> None:
        plain_send = self.ws.send

        def offer(event: Any) -> bytes:
            if isinstance(event, Request):
                event = dataclasses.replace(event, extensions=[PerMessageDeflate()])
            return plain_send(event)

        self.ws.send = offer  # type: ignore[method-assign]
        try:
            super().handshake()
        finally:
            del self.ws.send


def stamped_socket(url: str, cookie: str,
                   deflate: bool = False) -> tuple[ChatSocket, StampedClient]:
    global POLLER
    if POLLER is None:
        POLLER = Poller()
    socket = ChatSocket.__new__(ChatSocket)
    kind = DeflateClient if deflate else StampedClient
    client = kind.connect(url, headers={"Cookie": cookie})
    POLLER.add(client)
    socket.ws = client
    return socket, client


def expected_tokens(client: int, tokens: int) -> list[str]:
    return ECHO_PREFIX + [f" c{client}.{i}" for i in range(tokens - len(ECHO_PREFIX))]


def upstream_times(dump: dict[str, list[list[Any]]]) -> dict[int, list[float]]:
    """client -> time each of its token lines reached the app, in stream order."""
    times: dict[int, list[float]] = {}
    for rows in dump.values():
        stream = b""
        ends: list[tuple[int, float]] = []  # (end offset of a piece, when it was sent)
        for stamp, encoded in rows:
            stream += base64.b64decode(encoded)
            ends.append((len(stream), stamp))
        reply: list[float] = []
        owner: int | None = None
        piece = 0
        for match in LINE.finditer(stream):
            while ends[piece][0] < match.end():
                piece += 1
            line = json.loads(match.group())
            text = (line.get("message") or {}).get("content") or ""
            if text:
                reply.append(ends[piece][1])
                numbered = NUMBERED.match(text)
                if numbered and owner is None:
                    owner = int(numbered.group(1))
            if line.get("done"):
                if owner is not None:
                    times[owner] = reply
                reply, owner = [], None
    return times


def collect(sockets: list[tuple[ChatSocket, StampedClient]],
            frames: list[list[dict[str, Any]]], deadline: float) -> None:
    """Parse what each client has queued until every reply has ended (or time is up)."""
    while time.monotonic() < deadline:
        for k, (_, client) in enumerate(sockets):
            while len(frames[k]) < len(client.input_buffer):
                frames[k].append(json.loads(client.input_buffer[len(frames[k])]))
        if all(f and f[-1]["type"] in ("done", "error") for f in frames):
            break
        time.sleep(0.05)
    for _, client in sockets:  # a reader thread stamps just after it queues
        while len(client.stamps) < len(client.input_buffer) and client.connected:
            time.sleep(0.01)


def run(clients: int, tokens: int, delay: float, hosts: int = 1,
        paced: bool = False, deflate: bool = False) -> dict[str, Any]:
    """Stream `tokens` to each of `clients` browsers at once, across `hosts` stand-ins
    (each behind its own tap); return every figure the BENCH lines use."""
    with _common.temp_dir("concurrency") as tmp:
        fakes = [_common.start_fake(token_delay=delay, paced=paced) for _ in range(hosts)]
        taps = [_common.Child([sys.executable, str(_common.BENCH_DIR / "_tap.py"),
                               "--upstream", url.removeprefix("http://"),
                               "--out", str(tmp / f"tap{h}.json")])
                for h, (_, url) in enumerate(fakes)]
        app = None
        try:
            tap_urls = [tap.read_line_with("tap at").split()[-1] for tap in taps]
            labels = [f"h{h}" for h in range(hosts)]
            pairs = zip(labels, tap_urls, strict=True)
            ollama_url = (tap_urls[0] if hosts == 1 else
                          ",".join(f"{label}={url}" for label, url in pairs))
            env = {**_common.NO_LIMITS, "WEBCHAT_SOCKETS_TOTAL": str(clients + 16)}
            app, remote = _common.start_app(ollama_url, tmp / "data", tmp / "app.log",
                                            env=env)
            warm = BrowserClient(remote)  # load the model once, as a user would have
            warm_socket = warm.socket()
            for label in labels:  # on every host, so each can take a share of the chats
                warm_socket.chat("warm up", **({"host": label} if hosts > 1 else {}))
            warm.close()

            users = [BrowserClient(remote) for _ in range(clients)]
            sockets = [stamped_socket(remote.ws_url, user.cookie, deflate) for user in users]
            # One short exchange first, so the measured reply runs on a socket that has
            # been used, like every message after a tab's first one.
            for socket, _ in sockets:
                socket.send({"type": "chat", "text": "hi", "model": _common.MODEL})
            collect(sockets, [[] for _ in sockets], time.monotonic() + 60)
            frames: list[list[dict[str, Any]]] = [[] for _ in sockets]
            for _, client in sockets:  # measured frames start at index 0 again
                client.input_buffer.clear()
                client.stamps.clear()

            cpu_before = _common.cpu_seconds(app.pid)
            started = time.monotonic()
            sent_at: list[float] = []
            for k, (socket, _) in enumerate(sockets):
                words = [f"c{k}.{i}" for i in range(tokens - len(ECHO_PREFIX))]
                sent_at.append(time.monotonic())
                socket.send({"type": "chat", "text": " ".join(words),
                             "model": _common.MODEL})
            collect(sockets, frames, started + tokens * delay * 4 + 30)
            cpu = _common.cpu_seconds(app.pid) - cpu_before
            wall = time.monotonic() - started
            threads = _threads(app.pid)
            upstream: dict[int, list[float]] = {}
            for h, tap in enumerate(taps):
                assert tap.proc.stdin is not None
                tap.proc.stdin.write("dump\n")
                tap.proc.stdin.flush()
                tap.read_line_with("dumped")
                upstream.update(upstream_times(json.loads((tmp / f"tap{h}.json").read_text())))
            for socket, client in sockets:
                if POLLER is not None:
                    POLLER.remove(client)
                socket.close()
        finally:
            if app is not None:
                app.stop()
            for tap in taps:
                tap.stop()
            for fake, _ in fakes:
                fake.stop()

    complete = in_order = 0
    delays: list[float] = []
    firsts: list[float] = []  # the first chunk of each reply, which follows `start`
    ends: list[float] = []  # seconds from sending the chat to its `done`
    by_host: dict[str, int] = {}
    frame_count = 0
    for k, (_, client) in enumerate(sockets):
        chunks = [(i, f["text"]) for i, f in enumerate(frames[k]) if f["type"] == "chunk"]
        frame_count += len(chunks)
        expected = expected_tokens(k, tokens)
        done = bool(frames[k]) and frames[k][-1]["type"] == "done"
        if done:
            ends.append(client.stamps[len(frames[k]) - 1] - sent_at[k])
            host = frames[k][-1]["stats"].get("host", "")
            by_host[host] = by_host.get(host, 0) + 1
        # The app may join tokens that queued up into one frame: walk the frames token by
        # token, so each token is timed by the frame that carried it.
        received: list[tuple[int, str]] = []  # (frame index, token)
        n, ordered = 0, True
        for i, text in chunks:
            rest = text
            while rest and n < len(expected) and rest.startswith(expected[n]):
                received.append((i, expected[n]))
                rest = rest[len(expected[n]):]
                n += 1
            ordered = ordered and not rest
        if done and ordered and n == len(expected):
            complete += 1
            in_order += 1
        sent = upstream.get(k, [])
        if len(sent) == len(received):
            delays += [client.stamps[i] - sent[t] for t, (i, _) in enumerate(received)]
            if received:
                firsts.append(client.stamps[received[0][0]] - sent[0])
    relayed = complete * tokens
    return {
        "clients": clients, "tokens": tokens, "delay": delay, "hosts": hosts, "wall": wall,
        "complete": complete, "in_order": in_order, "timed_tokens": len(delays),
        "chunk_frames": frame_count, "delays": delays, "firsts": firsts, "ends": ends,
        "by_host": by_host, "threads": threads, "cpu_s": cpu,
        "cpu_us_per_token": cpu / relayed * 1e6 if relayed else math.nan,
        # from the app's start: also its imports, warm-up, page loads, handshakes and
        # each browser's first exchange (what a reading of /proc at the end gives)
        "cpu_setup_s": cpu_before,
        "cpu_us_per_token_whole": (cpu_before + cpu) / relayed * 1e6 if relayed else math.nan,
        "deflate": deflate,
        "ideal_s": tokens * delay,
    }


def _threads(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def describe(r: dict[str, Any]) -> list[str]:
    """The lines for people: what ran, delays, CPU, how late the slowest stream ended."""
    delays, firsts, ends = r["delays"], r["firsts"], r["ends"]
    split = ", ".join(f"{h}: {n}" for h, n in sorted(r["by_host"].items()))
    return [
        f"{r['clients']} clients x {r['tokens']} tokens at {1 / r['delay']:.0f} tokens/s "
        f"each, {r['hosts']} stand-in(s) ({split}); all replies ended after "
        f"{r['wall']:.1f} s",
        f"  {len(delays)} tokens timed, carried by {r['chunk_frames']} chunk frames; "
        f"added delay p50 {percentile(delays, 50) * 1000:.1f} ms, p90 "
        f"{percentile(delays, 90) * 1000:.1f} ms, p99 {percentile(delays, 99) * 1000:.1f} "
        f"ms, max {max(delays, default=0) * 1000:.1f} ms",
        f"  first chunk of each reply: added delay p50 "
        f"{percentile(firsts, 50) * 1000:.1f} ms, max {max(firsts, default=0) * 1000:.1f} ms",
        f"  app CPU {r['cpu_s']:.2f} s = {r['cpu_us_per_token']:.1f} us per relayed token "
        f"({r['cpu_s'] / r['wall']:.2f} of a core); {r['threads']} threads; permessage-"
        f"deflate {'on' if r['deflate'] else 'off'}",
        f"  counted from the app's start instead (its start, warm-up, page loads, "
        f"handshakes, first exchanges: {r['cpu_setup_s']:.2f} s): "
        f"{r['cpu_us_per_token_whole']:.1f} us per relayed token",
        f"  streams ended after {min(ends, default=0):.2f}-{max(ends, default=0):.2f} s "
        f"(ideal {r['ideal_s']:.1f} s; slowest {max(ends, default=0) / r['ideal_s']:.2f}x)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Many browsers streaming at once.")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.02, help="stand-in token delay, s")
    parser.add_argument("--hosts", type=int, default=1, help="stand-ins to spread over")
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as Chromium and Firefox do")
    args = parser.parse_args()
    r = run(args.clients, args.tokens, args.delay, args.hosts, deflate=args.deflate)
    delays, firsts = r["delays"], r["firsts"]
    p50, p99 = percentile(delays, 50) * 1000, percentile(delays, 99) * 1000
    print("concurrency: " + "\n".join(describe(r)))
    print(target("every chunk, in order", r["complete"] == r["in_order"] == args.clients))
    print(target("added delay p99 < 50 ms", p99 < 50))
    print(bench_line("concurrency", clients=args.clients, tokens=args.tokens,
                     complete=r["complete"], in_order=r["in_order"],
                     timed_tokens=len(delays), chunk_frames=r["chunk_frames"],
                     added_p50_ms=p50, added_p99_ms=p99,
                     added_max_ms=max(delays, default=0) * 1000,
                     first_chunk_p50_ms=percentile(firsts, 50) * 1000,
                     cpu_us_per_token=r["cpu_us_per_token"],
                     cpu_us_per_token_whole=r["cpu_us_per_token_whole"],
                     deflate=int(args.deflate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
