"""The relay's per-frame shortcuts (issue 10): WebSocket frames written straight to the
socket, token lines read without json.loads, reads that never wait in the pump. Each
must give exactly what the long way gives."""

from __future__ import annotations

import json
import socket
import time
import types

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from webchat.guard.roles import GUEST
from webchat.ollama.chunked import ChunkedLines
from webchat.ollama.stream import parse_line, plain_token
from webchat.relay.frames import FrameWriter
from webchat.ws.chat_socket import MAX_UNSENT, ChatConnection

from .support.fake_ollama import CAPTURES


def _pair(deflate: bool) -> tuple[WSConnection, WSConnection]:
    """A server and a client wsproto connection after their handshake."""
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    offer = [PerMessageDeflate()] if deflate else []
    server.receive_data(client.send(Request(host="x", target="/ws", extensions=offer)))
    assert isinstance(next(server.events()), Request)
    client.receive_data(server.send(AcceptConnection(extensions=[PerMessageDeflate()])))
    assert isinstance(next(client.events()), AcceptConnection)
    return server, client


def _socket(server: WSConnection, sock: socket.socket) -> types.SimpleNamespace:
    """What flask-sock hands over: simple-websocket's connection, socket and send()."""
    ws = types.SimpleNamespace(ws=server, sock=sock, connected=True)
    ws.send = lambda data: sock.send(server.send(TextMessage(data=data)))
    return ws


def _received(client: WSConnection, browser: socket.socket, count: int) -> list[str]:
    messages: list[str] = []
    part = ""
    while len(messages) < count:
        client.receive_data(browser.recv(1 << 20))
        for event in client.events():
            part += event.data
            if event.message_finished:
                messages.append(part)
                part = ""
    return messages


@pytest.mark.parametrize("deflate", [False, True])
def test_frames_written_directly_read_like_wsprotos_in_any_mix(deflate):
    server, client = _pair(deflate)
    ours, browser = socket.socketpair()
    ours.settimeout(5)
    browser.settimeout(5)
    ws = _socket(server, ours)
    writer = FrameWriter.for_socket(ws)
    assert writer is not None
    texts = ["x", "é" * 100, json.dumps({"t": "y" * 70_000}), "z" * 125, "w" * 65_535, "ok"]
    if not deflate:  # byte for byte what wsproto writes
        assert all(writer.frame(t) == bytes(server.send(TextMessage(data=t))) for t in texts)
    for i, text in enumerate(texts):  # the two paths share one compressor
        ws.send(text) if i % 2 else writer.send(text)
        assert _received(client, browser, 1) == [text]
    if deflate:  # compressed (RSV1), as Chromium and Firefox ask
        frame = writer.frame("abc" * 1000)
        assert frame[0] & 0x40 and len(frame) < 200
    ws.connected = False  # simple-websocket saw the browser go
    assert writer.send("late") == -1
    ws.connected = True
    server.send(CloseConnection(code=1000))  # closing: no data frame may follow
    assert writer.send("late") == -1
    ours.close()
    browser.close()


def test_a_browser_that_stops_reading_is_dropped_with_a_reason_it_reads_later():
    """Writes never wait on a browser (relay/outbox.py): one that reads nothing is dropped, and
    when it reads again it gets whole frames, then a close frame saying why, then the end."""
    server, client = _pair(False)
    ours, browser = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MAX_UNSENT)
    ours.settimeout(5)  # a send that waited for room would wait this long, then fail
    connection = ChatConnection(_socket(server, ours), "sid", types.SimpleNamespace(config={}),
                                GUEST)  # type: ignore[arg-type]
    assert connection._writer is not None
    frame = {"type": "chunk", "text": "x" * 4000}
    sent = 0
    started = time.monotonic()
    while connection.send(frame):  # the browser reads nothing
        sent += 1
        assert sent < 10_000, "sending never stopped"
    assert time.monotonic() - started < 2  # no send waited for room
    assert sent * 4000 >= MAX_UNSENT // 2
    assert not connection.send(frame)  # dropped for good
    browser.settimeout(10)
    messages: list[str] = []
    closed = None
    while closed is None:
        data = browser.recv(1 << 20)
        assert data, "the socket ended without a close frame"
        client.receive_data(data)
        for event in client.events():
            if isinstance(event, CloseConnection):
                closed = event
            elif event.message_finished:
                messages.append(event.data)
    assert 0 < len(messages) <= sent
    assert all(json.loads(m) == frame for m in messages)  # whole frames, none cut
    assert closed.code == 1008 and "behind" in closed.reason
    assert browser.recv(1) == b""  # then the server ends the connection
    ours.close()
    browser.close()


LINE = (b'{"model":"gemma3:270m","created_at":"2026-11-29T18:28:15.520448722Z",'
        b'"message":{"role":"assistant","content":%s},"done":false}')


@pytest.mark.parametrize("content", [
    b'"Why"', b'""', b'" caf\xc3\xa9 \xf0\x9f\x98\x80"', b'"a\\"b\\\\c\\u00e9\\n\\ud83d\\ude00"',
    b'"lone \\ud800"', b'"a\x01b"', b'"bad \\q escape"', b'"\xff"', b'"cut \\"',
])
def test_a_token_line_reads_as_json_loads_reads_it(content):
    line = LINE % content
    token = plain_token(line)
    try:
        expected = json.loads(line)["message"]["content"]
    except ValueError:
        assert token is None  # the full parse then reports the broken line
        with pytest.raises(Exception, match="not JSON"):
            parse_line(line)
        return
    assert token == expected


def test_a_real_ollamas_token_lines_take_the_quick_read():
    """The quick read is worth having only if a real Ollama's lines match its shape:
    every token line of the captured streams (tests/captures/, refreshed from a real
    Ollama 0.32.15 by scripts/refresh_captures.py) does, and reads as json.loads reads it."""
    lines = (CAPTURES / "chat-stream-200.ndjson").read_bytes().splitlines()
    tokens = [line for line in lines if not json.loads(line)["done"]]
    assert len(tokens) == 200
    assert [plain_token(line) for line in tokens] == [
        json.loads(line)["message"]["content"] for line in tokens]
    assert plain_token(lines[-1]) is None  # the final line, with the stats


@pytest.mark.parametrize("line", [
    LINE.replace(b'},"done"', b',"thinking":"hm"},"done"') % b'""',
    LINE.replace(b'"done":false', b'"done":true') % b'"x"',
    b'{"model":"m","created_at":"x","error":"boom","message":{"role":"assistant",'
    b'"content":"x"},"done":false}',
    b' ' + LINE % b'"x"',
])
def test_any_other_line_is_left_to_the_full_parse(line):
    assert plain_token(line) is None


def test_a_reader_that_never_waits_says_when_nothing_came():
    ours, ollama = socket.socketpair()
    ours.settimeout(5)  # as urllib3 sets the read timeout
    fp = ours.makefile("rb")
    reader = ChunkedLines(fp, ours)
    assert not reader.never_wait()  # fp may still hold bytes before the first read
    batches = reader.batches()
    ollama.sendall(b"8\r\n" + b'{"a":1}\n' + b"\r\n")
    assert next(batches) == [b'{"a":1}']
    assert reader.never_wait()
    assert next(batches) is None  # nothing arrived: no wait
    ollama.sendall(b"8\r\n" + b'{"b":2}\n' + b"\r\n0\r\n\r\n")
    assert next(batches) == [b'{"b":2}']
    assert list(batches) == []
    fp.close()
    ours.close()
    ollama.close()


def test_a_chunk_frame_built_as_text_is_what_json_dumps_writes():
    from webchat.relay.reply import Reply, ReplyRequest

    class Tab:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def send_text(self, data: str) -> bool:
            self.texts.append(data)
            return True

    tab = Tab()
    host = types.SimpleNamespace(client=None)  # no Ollama: only the frames are built
    request = ReplyRequest("s" * 32, 7, 1, "m", "chat", {}, host)  # type: ignore[arg-type]
    reply = Reply(request, None, None, [tab])  # type: ignore[arg-type]
    for kind, pieces in (("content", ['a"b', "\\ é 😀\n\t", "\x01"]), ("thinking", ["hm"])):
        reply._relay_held([kind, *pieces])
    assert tab.texts == [
        json.dumps({"type": "chunk", "text": 'a"b\\ é 😀\n\t\x01', "conversation": 7}),
        json.dumps({"type": "thinking", "text": "hm", "conversation": 7})]
