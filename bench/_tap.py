"""A timestamping TCP relay between the app and the stand-in Ollama (concurrency.py).

`python bench/_tap.py --upstream 127.0.0.1:PORT --out FILE` prints the URL to give the
app as its Ollama, then forwards every connection both ways in one thread. For bytes
going to the app it notes `time.monotonic()` just before handing them to the kernel
(CLOCK_MONOTONIC: the same clock in every process of this machine). That is the moment
the stand-in's line reached the app's socket, which the benchmark compares with the
moment the matching chunk reached its WebSocket client.

Write `dump` to its stdin to have it write what it saw to FILE (JSON) and print
`dumped`; it exits when stdin closes. Its own sockets use TCP_NODELAY so it adds no
Nagle delay of its own; its `recv` comes before the timestamp, so it is
not counted against the app (its `sendall`, a few microseconds, is).
"""

from __future__ import annotations

import argparse
import base64
import json
import selectors
import socket
import sys
import time


def nodelay(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(True)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="host:port of the stand-in")
    parser.add_argument("--out", required=True, help="file to write the timestamps to")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)

    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "control")
    # conn id -> [(monotonic seconds, bytes sent to the app)]
    seen: dict[int, list[tuple[float, bytes]]] = {}
    peers: dict[socket.socket, tuple[socket.socket, int | None]] = {}
    next_id = 0
    print(f"tap at http://127.0.0.1:{listener.getsockname()[1]}", flush=True)

    def close(sock: socket.socket) -> None:
        other, _ = peers.pop(sock, (None, None))
        for s in (sock, other):
            if s is None:
                continue
            peers.pop(s, None)
            try:
                selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    while True:
        for key, _ in selector.select():
            if key.data == "accept":
                app_side, _ = listener.accept()
                ollama_side = socket.create_connection((host, int(port)))
                nodelay(app_side)
                nodelay(ollama_side)
                seen[next_id] = []
                peers[app_side] = (ollama_side, None)  # app -> ollama: not stamped
                peers[ollama_side] = (app_side, next_id)  # ollama -> app: stamped
                selector.register(app_side, selectors.EVENT_READ, "data")
                selector.register(ollama_side, selectors.EVENT_READ, "data")
                next_id += 1
            elif key.data == "control":
                line = sys.stdin.readline()
                if not line:
                    return 0
                with open(args.out, "w") as out:
                    json.dump({str(conn): [(t, base64.b64encode(b).decode()) for t, b in rows]
                               for conn, rows in seen.items()}, out)
                print("dumped", flush=True)
            else:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if sock not in peers:
                    continue
                other, conn = peers[sock]
                if not data:
                    close(sock)
                    continue
                if conn is not None:  # stamped just before the app can have it
                    seen[conn].append((time.monotonic(), data))
                try:
                    other.sendall(data)
                except OSError:
                    close(sock)


if __name__ == "__main__":
    sys.exit(main())
