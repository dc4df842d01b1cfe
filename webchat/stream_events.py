"""Ollama's streamed NDJSON turned into events: content, thinking, and the final `done`.

Apart from the client because this is the parsing, not the talking: a line may arrive
split across reads or many at once, an error line or garbage ends the reply (the text
before it is kept), and the `done` line's counts become the reply's stats.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from .cancellation import Cancellation
from .ollama_errors import Cancelled, StreamFailed
from .stream_reader import BrokenFraming, body_reader

log = logging.getLogger(__name__)


class Batch(list):  # type: ignore[type-arg]
    """The events one read brought; `final` when the reader will not read again;
    `direct` when it was read straight from a plain socket (nothing is buffered above
    it, so waiting for that socket to be readable is enough: the relay pump's rule)."""

    def __init__(self, events: list[StreamEvent], final: bool = False,
                 direct: bool = False) -> None:
        super().__init__(events)
        self.final = final
        self.direct = direct


@dataclass
class StreamEvent:
    """One thing a streamed reply produced: `content`, `thinking`, or the final `done`."""

    kind: str
    text: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    more: bool = False  # Ollama's next bytes are already here: no need to relay this alone


STAT_KEYS = (
    "done_reason", "total_duration", "load_duration", "prompt_eval_count",
    "prompt_eval_duration", "eval_count", "eval_duration",
)


def reply_stats(final: dict[str, Any]) -> dict[str, Any]:
    """Keep Ollama's own counts and durations (ns) and add tokens per second."""
    stats = {key: final[key] for key in STAT_KEYS if key in final}
    count, duration = final.get("eval_count"), final.get("eval_duration")
    if isinstance(count, int) and isinstance(duration, (int, float)) and duration > 0:
        stats["tokens_per_second"] = round(count / duration * 1e9, 2)
    return stats


def iter_ndjson(chunks: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Yield one object per line; a line may arrive split across several reads."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield parse_line(line)
    if buffer.strip():
        yield parse_line(buffer)


def parse_line(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        log.warning("Ollama sent a line that is not JSON: %r", line[:200])
        raise StreamFailed("Ollama sent something that is not JSON, so the reply was "
                           "cut short (the server's log has the line)") from exc
    if not isinstance(value, dict):
        log.warning("Ollama sent an unexpected line: %r", line[:200])
        raise StreamFailed("Ollama sent something unexpected, so the reply was cut short "
                           "(the server's log has the line)")
    return value


def read_batches(response: requests.Response, text_key: str | None,
                 cancel: Cancellation) -> Iterator[list[StreamEvent]]:
    """The events of a streamed reply, a `Batch` per read; `text_key` is "response" for
    `/api/generate`, None for `/api/chat` (its text is under `message`)."""
    reader = body_reader(response)
    if reader is not None:
        batches: Iterator[list[bytes]] = reader.batches()
    else:  # not chunked (a proxy buffered it?): line by line, as requests reads it
        batches = ([line] for line in response.iter_lines(chunk_size=None)
                   if isinstance(line, bytes))
    try:
        for lines in batches:
            events: list[StreamEvent] = []
            for raw in lines:
                if not raw.strip():
                    continue
                try:
                    line = parse_line(raw)
                    if "error" in line:
                        raise StreamFailed(f"Ollama reported an error: {line['error']}")
                except StreamFailed:
                    if events:  # the text before the failure is relayed and kept
                        yield Batch(events, final=True)  # then, asked again: raise
                    raise
                if text_key:
                    text = line.get(text_key) or ""
                    thinking = line.get("thinking") or ""
                else:
                    message = line.get("message") or {}
                    text = message.get("content") or ""
                    thinking = message.get("thinking") or ""
                if thinking:
                    events.append(StreamEvent("thinking", thinking))
                if text:
                    events.append(StreamEvent("content", text))
                if line.get("done"):
                    events.append(StreamEvent("done", stats=reply_stats(line)))
                    yield Batch(events, final=True)
                    return
            # Maybe none: a read that completed no line. `final`: the body has ended,
            # so asking again ends the stream without reading (no `done` line).
            yield Batch(events, final=reader is not None and reader.ended,
                        direct=reader is not None)
    except BrokenFraming as exc:
        raise StreamFailed(f"Ollama's stream is garbled ({exc})") from None
    if cancel.cancelled:
        raise Cancelled(cancel.reason)
    raise StreamFailed("Ollama ended the reply without finishing it (no `done` line)")
