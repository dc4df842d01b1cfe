"""The relay's speed paths lean on private attributes of requests/urllib3, wsproto and
simple-websocket (each in one place: webchat/ollama/chunked.py, webchat/ollama/
cancellation.py, webchat/relay/frames.py). Should a release move them, the app falls
back to the slow path without a word; these tests say so instead."""

from __future__ import annotations

import http.server
import socket
import threading

import requests
import simple_websocket

from webchat.ollama.cancellation import AbortableAdapter, Cancellation, abortable
from webchat.ollama.chunked import ChunkedLines, body_reader
from webchat.relay.frames import FrameWriter


class _Chunked(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in (b'{"a":1}\n', b'{"b":2}\n'):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


def _serve() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_streamed_chunked_response_is_read_straight_from_its_socket():
    server = _serve()
    http_session = requests.Session()
    http_session.mount("http://", AbortableAdapter())
    cancel = Cancellation()
    try:
        with abortable(cancel):
            response = http_session.get(f"http://127.0.0.1:{server.server_port}/",
                                        stream=True, timeout=5)
        assert isinstance(cancel.socket, socket.socket)  # handed over before the headers
        reader = body_reader(response)
        assert isinstance(reader, ChunkedLines), "urllib3's response internals moved"
        lines = [line for batch in reader.batches() if batch for line in batch]
        assert lines == [b'{"a":1}', b'{"b":2}']
        response.close()
    finally:
        http_session.close()
        server.shutdown()
        server.server_close()


def test_frames_are_written_straight_to_a_simple_websocket_server_socket():
    ours, browser = socket.socketpair()
    environ = {"werkzeug.socket": ours, "HTTP_HOST": "localhost",
               "HTTP_CONNECTION": "Upgrade", "HTTP_UPGRADE": "websocket",
               "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
               "HTTP_SEC_WEBSOCKET_VERSION": "13"}
    browser.settimeout(5)
    ws = simple_websocket.Server(environ)
    try:
        writer = FrameWriter.for_socket(ws)
        assert writer is not None, "simple-websocket's or wsproto's internals moved"
        handshake = b""
        while b"\r\n\r\n" not in handshake:
            handshake += browser.recv(4096)
        assert handshake.startswith(b"HTTP/1.1 101")
        assert writer.send("hi") == 4
        rest = handshake.split(b"\r\n\r\n", 1)[1]
        while len(rest) < 4:
            rest += browser.recv(4096)
        assert rest[:4] == b"\x81\x02hi"  # one unmasked text frame, FIN set
    finally:
        ws.close()
        browser.close()
