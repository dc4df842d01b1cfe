"""Ollama's streamed NDJSON turned into events: content, thinking, and the final `done`.

Apart from the client because this is the parsing, not the talking: a line may arrive
split across reads or many at once, an error line or garbage ends the reply (the text
before it is kept), and the `done` line's counts become the reply's stats.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json.decoder import scanstring as _scan_string
from typing import Any

import requests

from .cancellation import Cancellation
from .chunked import BrokenFraming, body_reader
from .errors import Cancelled, StreamFailed

log = logging.getLogger(__name__)


class Batch(list):  # type: ignore[type-arg]
    """The events one read brought; `final` when the reader will not read again;
    `direct` when it was read straight from a plain socket (nothing is buffered above
    it, so waiting for that socket to be readable is enough: the relay pump's rule)."""

    nothing = False  # a read that found nothing (only once `never_wait` was asked)

    def __init__(self, events: list[StreamEvent], final: bool = False,
                 direct: bool = False, never_wait: Callable[[], bool] | None = None) -> None:
        super().__init__(events)
        self.final = final
        self.direct = direct
        self.never_wait = never_wait  # from now on read only what is there (the pump)


@dataclass
class StreamEvent:
    """One thing a streamed reply produced: `content`, `thinking`, or the final `done`."""

    kind: str
    text: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    more: bool = False  # Ollama's next bytes are already here: no need to relay this alone


NOTHING_YET = Batch([], direct=True)  # a read that would have waited: nothing arrived
NOTHING_YET.nothing = True

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


# A chat line that carries one token of content and nothing else, as Ollama writes it.
_PLAIN_TOKEN = re.compile(
    rb'\{"model":"[^"\\]*","created_at":"[^"\\]*","message":\{"role":"assistant",'
    rb'"content":"((?:[^"\\\x00-\x1f]|\\.)*)"\},"done":false\}\s*')


def plain_token(line: bytes) -> str | None:
    """The content of a chat line that holds nothing but a token (most lines), read
    without building its dict; None for any other line, which `parse_line` reads.
    The string is decoded by the json module's own scanner, so escapes, a control
    character or bad UTF-8 are treated exactly as `json.loads` treats them."""
    match = _PLAIN_TOKEN.fullmatch(line)
    if match is None:
        return None
    body = match.group(1)
    if b"\\" not in body:
        try:
            return body.decode()
        except UnicodeDecodeError:
            return None
    try:
        return _scan_string(body.decode() + '"', 0)[0]
    except ValueError:  # bad escape, control character, bad UTF-8: the full parse says
        return None


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
        batches: Iterator[list[bytes] | None] = reader.batches()
    else:  # not chunked (a proxy buffered it?): line by line, as requests reads it
        batches = ([line] for line in response.iter_lines(chunk_size=None)
                   if isinstance(line, bytes))
    never_wait = reader.never_wait if reader is not None else None
    try:
        for lines in batches:
            if lines is None:  # nothing arrived (a reader that never waits)
                yield NOTHING_YET
                continue
            events: list[StreamEvent] = []
            for raw in lines:
                if not raw.strip():
                    continue
                if text_key is None:
                    token = plain_token(raw)
                    if token is not None:  # the common line: one token of content
                        if token:
                            events.append(StreamEvent("content", token))
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
                        direct=reader is not None, never_wait=never_wait)
    except BrokenFraming as exc:
        raise StreamFailed(f"Ollama's stream is garbled ({exc})") from None
    if cancel.cancelled:
        raise Cancelled(cancel.reason)
    raise StreamFailed("Ollama ended the reply without finishing it (no `done` line)")
