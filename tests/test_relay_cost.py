"""The relay's cheaper paths: Ollama's chunked stream read in batches, and partial
replies saved without re-indexing them for search until they end."""

from __future__ import annotations

import pytest

from webchat.ollama.chunked import BrokenFraming, ChunkedLines
from webchat.store.database import Database
from webchat.store.manager import SessionManager


class Reads:
    """A connection that hands over the given byte strings, one per read."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def read1(self, size: int = -1) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def test_chunked_lines_come_in_batches_whatever_the_reads_split():
    body = chunk(b'{"a":1}\n') + chunk(b'{"b":2}\n{"c"') + chunk(b':3}\n') + b"0\r\n\r\n"
    assert list(ChunkedLines(Reads(body)).batches()) == [
        [b'{"a":1}', b'{"b":2}', b'{"c":3}']]
    split = [body[i:i + 3] for i in range(0, len(body), 3)]  # sizes and CRLFs cut apart
    lines = [line for batch in ChunkedLines(Reads(*split)).batches() for line in batch]
    assert lines == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


def test_chunked_lines_say_when_the_body_breaks():
    with pytest.raises(ConnectionResetError):  # closed before the last chunk
        list(ChunkedLines(Reads(chunk(b'{"a":1}\n'))).batches())
    with pytest.raises(BrokenFraming):
        list(ChunkedLines(Reads(b"zz\r\n{}\n\r\n")).batches())


def test_partial_saves_are_searchable_only_once_the_reply_ends(tmp_path):
    sessions = SessionManager(Database(tmp_path / "db.sqlite3"), 10)
    sid = sessions.create()
    cid = sessions.conversations.resolve(sid, None, 0)
    user = sessions.exchanges.add_user(sid, cid, "tell me about walruses", "m", [])
    reply = sessions.exchanges.begin_reply(sid, cid, "m", "chat", {})

    def found(word: str) -> list[int]:
        return [row[0] for row in sessions.db.query(
            "SELECT rowid FROM message_search WHERE message_search MATCH ?", (word,))]

    sessions.exchanges.save_partials([(reply, "Walruses are large", "")])
    assert found("walruses") == [user]  # the streaming reply is not indexed yet
    sessions.exchanges.finish_reply(user, reply, "Walruses are large flippered mammals", "", "ok",
                          None, None)
    assert sorted(found("walruses")) == [user, reply] and found("flippered") == [reply]
    cut = sessions.exchanges.begin_reply(sid, cid, "m", "chat", {})
    sessions.exchanges.save_partials([(cut, "Narwhals too", "")])
    sessions.exchanges.recover_interrupted()  # a server killed mid-reply: the text so far is kept
    assert found("narwhals") == [cut]
    sessions.db.query("INSERT INTO message_search (message_search) VALUES ('integrity-check')")


def test_a_browser_that_stops_reading_is_dropped_not_waited_for():
    import socket
    import time
    import types

    from webchat.guard.roles import GUEST
    from webchat.relay.outbox import close_frame
    from webchat.relay.tcp import MAX_UNSENT
    from webchat.ws.chat_socket import ChatConnection

    class Ws:  # what flask-sock hands over: its socket, and send()
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def send(self, data: str) -> None:
            self.sock.sendall(data.encode())

    ours, browser = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MAX_UNSENT)
    ours.settimeout(5)  # a send that waited for room would wait this long, then fail
    services = types.SimpleNamespace(config={})
    connection = ChatConnection(Ws(ours), "sid", services, GUEST)  # type: ignore[arg-type]
    frame = {"type": "chunk", "text": "x" * 4000}
    sent = 0
    started = time.monotonic()
    while connection.send(frame):  # the browser reads nothing
        sent += 1
        assert sent < 10_000, "sending never stopped"
    assert time.monotonic() - started < 2  # no send waited for room
    assert sent * 4000 >= MAX_UNSENT // 2  # it got its share first (the count is in
    # the kernel's bytes, with their overhead)
    assert not connection.send(frame)  # dropped: nothing more goes to it
    browser.settimeout(10)
    received = b""
    while piece := browser.recv(1 << 20):  # it reads again: what was out, then the end
        received += piece
    assert received.endswith(close_frame(1008, "Too far behind: over 256 KB unread. "
                                                "Reconnecting reloads the chat."))
    ours.close()
    browser.close()
