"""The socket writer: order kept, backlog of chunks joined, a dead browser noticed."""

from __future__ import annotations

import json
import threading

from simple_websocket import ConnectionClosed

from webchat.outbox import Outbox, merge


def test_merge_joins_only_neighbouring_text_frames_of_one_kind():
    frames = [{"type": "start", "message_id": 1}, {"type": "thinking", "text": "a"},
              {"type": "thinking", "text": "b"}, {"type": "chunk", "text": "c"},
              {"type": "chunk", "text": "d"}, {"type": "chunk", "text": "e", "conversation": 2},
              {"type": "error", "code": "busy", "message": "x"}, {"type": "chunk", "text": "f"},
              {"type": "done", "stats": {}}]
    assert merge(frames) == [
        {"type": "start", "message_id": 1}, {"type": "thinking", "text": "ab"},
        {"type": "chunk", "text": "cd"}, {"type": "chunk", "text": "e", "conversation": 2},
        {"type": "error", "code": "busy", "message": "x"}, {"type": "chunk", "text": "f"},
        {"type": "done", "stats": {}}]


class SlowSocket:
    """Blocks its first send until released, so the rest pile up in the queue."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.release = threading.Event()

    def send(self, data: str) -> None:
        self.release.wait(5)
        self.sent.append(json.loads(data))


def test_a_backlog_goes_out_as_fewer_frames_in_order():
    ws = SlowSocket()
    outbox = Outbox(ws)
    outbox.put({"type": "start", "message_id": 1})
    for i in range(100):
        outbox.put({"type": "chunk", "text": f"{i},"})
    outbox.put({"type": "done", "stats": {}})
    ws.release.set()
    outbox.close()
    assert ws.sent[0]["type"] == "start" and ws.sent[-1]["type"] == "done"
    assert "".join(f["text"] for f in ws.sent if f["type"] == "chunk") == \
        "".join(f"{i}," for i in range(100))
    assert len(ws.sent) < 20


def test_a_gone_browser_is_reported():
    class Closed:
        def send(self, data: str) -> None:
            raise ConnectionClosed()

    outbox = Outbox(Closed())
    assert outbox.put({"type": "chunk", "text": "x"}) is True
    outbox.close()
    assert outbox.broken and outbox.put({"type": "chunk", "text": "y"}) is False
