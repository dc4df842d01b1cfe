"""The app on a real port and a browser-like client for it, shared by the tests."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
import simple_websocket
from werkzeug.serving import make_server

from webchat import create_app, shutdown


class LiveServer:
    """The Flask app served by werkzeug's threaded server on 127.0.0.1."""

    def __init__(self, data_dir: Path, ollama_url: str, **config: Any) -> None:
        self.config = {"DATA_DIR": str(data_dir), "OLLAMA_URL": ollama_url,
                       "HOST": "127.0.0.1", "CONNECT_TIMEOUT": 2.0, "READ_TIMEOUT": 10.0,
                       **config}
        self.app = create_app(self.config)
        # Bind where the app is told to listen (0.0.0.0 for the LAN tests), but always
        # connect through loopback.
        self._server = make_server(self.app.config["HOST"], 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.stopped = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def services(self) -> Any:
        return self.app.extensions["webchat"]

    @property
    def data_dir(self) -> Path:
        return Path(self.config["DATA_DIR"])

    def stop(self, unload: bool = False) -> list[str]:
        """Stop serving; like SIGTERM when `unload`, else leave Ollama's state alone.
        Once: the `make_server` fixture stops what a test did not."""
        if self.stopped:
            return []
        self.stopped = True
        self._server.shutdown()
        self._server.server_close()
        return shutdown(self.app, unload=unload)


class BrowserClient:
    """What a browser holds: a cookie jar, and any number of sockets using it."""

    def __init__(self, server: LiveServer, token: str | None = None) -> None:
        self.server = server
        self.http = requests.Session()
        query = f"/?token={token}" if token else "/"
        page = self.http.get(server.url + query, timeout=5)
        page.raise_for_status()
        self.sockets: list[ChatSocket] = []

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def socket(self) -> ChatSocket:
        ws = ChatSocket(self.server.ws_url, self.cookie)
        self.sockets.append(ws)
        return ws

    def history(self, conversation: int | None = None) -> dict[str, Any]:
        """One conversation's history (by default the browser's most recent one)."""
        query = "" if conversation is None else f"?conversation={conversation}"
        response = self.http.get(self.server.url + "/api/history" + query, timeout=5)
        response.raise_for_status()
        return response.json()

    def stored_request(self, history: dict[str, Any], index: int) -> Any:
        """The request kept with a reply, as the prompt inspector fetches it."""
        message = history["messages"][index]
        response = self.http.get(f"{self.server.url}/api/conversations/"
                                 f"{history['conversation']}/messages/{message['id']}",
                                 timeout=5)
        response.raise_for_status()
        return response.json()["request"]

    def close(self) -> None:
        for ws in self.sockets:
            ws.close()


class WebSocketClient(simple_websocket.Client):
    """simple-websocket's client, fixed to behave like a browser in two ways.

    It sends `Host` without the port; browsers send `host:port`. And its handshake takes
    only the first event from its first read: frames the server sent right after the 101
    response and that arrived in the same read (a busy machine, a refusal sent at once)
    sat in wsproto's buffer until more bytes came, which could be never.
    """

    def handshake(self) -> None:
        if self.port not in (80, 443) and ":" not in self.host:
            self.host = f"{self.host}:{self.port}"
        super().handshake()

    def _thread(self) -> None:
        self.connected = self._handle_events()  # frames read together with the 101
        super()._thread()


class ChatSocket:
    def __init__(self, url: str, cookie: str, origin: str | None = None) -> None:
        headers = {"Cookie": cookie}
        if origin:
            headers["Origin"] = origin
        self.ws = WebSocketClient.connect(url, headers=headers)

    def send(self, frame: dict[str, Any] | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = self.ws.receive(timeout=timeout)
        if raw is None:
            raise TimeoutError(f"no frame within {timeout} s")
        return json.loads(raw)

    def recv_until(self, *types: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every frame up to and including the first one of `types`."""
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            frames.append(frame)
            if frame["type"] in types:
                return frames

    def chat(self, text: str, model: str = "gemma3:270m", **fields: Any) -> list[dict[str, Any]]:
        """Send one message and return its frames up to `done` or `error`."""
        self.send({"type": "chat", "text": text, "model": model, **fields})
        return self.recv_until("done", "error")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def reply_text(frames: list[dict[str, Any]]) -> str:
    return "".join(f["text"] for f in frames if f["type"] == "chunk")


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


ROOT = Path(__file__).resolve().parent.parent.parent


def start_run_py(data_dir: Path, ollama_url: str,
                 *flags: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `python run.py` on a free port; return it with its banner lines."""
    return start_command([sys.executable, "run.py"], ROOT, data_dir, ollama_url, *flags)


def start_command(command: list[str], cwd: Path, data_dir: Path, ollama_url: str,
                  *flags: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the app's command (`run.py`, or the installed `ollama-webchat`) in `cwd` on a
    free port; return it with its banner lines."""
    env = {**os.environ, "WEBCHAT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*command, "--port", "0", "--ollama-url", ollama_url, *flags],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    while True:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            process.kill()
            raise AssertionError("run.py exited early:\n" + "".join(lines))
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            return process, lines


def trickle(conns: list[socket.socket], piece: bytes, every: float) -> threading.Event:
    """Send `piece` on each connection every `every` seconds until the returned event is
    set: slow clients that are never silent, so no idle timeout ever fires."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.sendall(piece)

    threading.Thread(target=run, daemon=True).start()
    return stop


def ended_by_server(conn: socket.socket, timeout: float) -> bool:
    """Whether the server ends this connection within `timeout` s (EOF, a reset, or
    an error status it sends before closing)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        conn.settimeout(left)
        try:
            data = conn.recv(65536)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        if not data:
            return True
    return False


def close_all(process: subprocess.Popen[str], conns: list[socket.socket]) -> None:
    """The end of a test that held raw connections to a server it started: close them,
    then stop the server."""
    for conn in conns:
        conn.close()
    process.kill()
    process.wait(timeout=10)
