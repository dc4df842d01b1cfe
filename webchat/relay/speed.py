"""The one seam between a reply and the relay engine's speed paths.

A reply reads its first chunk itself, then hands the stream to the relay pump
(webchat/relay/pump.py) when the stream is read straight from a plain socket by the
chunked reader (webchat/ollama/chunked.py); its frames go out through the frame writer
(webchat/relay/frames.py). Each of those is a measured trade-off (bench/README.md); which
one a stream takes is decided here and nowhere else, from the flags the reader puts on
each batch (`webchat.ollama.stream.Batch`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from ..ollama.cancellation import Cancellation

log = logging.getLogger(__name__)


def pumpable(batch: Any) -> bool:
    """The pump can read on: the batch was read straight from a plain socket (nothing
    buffered above it, so epoll says truly when more is there) and the body goes on."""
    return bool(getattr(batch, "direct", False)) and not getattr(batch, "final", False)


def never_waits(batch: Any) -> bool:
    """From now on the stream's reads take only what is there (the pump reads it at once
    when its rest ends, without asking epoll first)."""
    never_wait = getattr(batch, "never_wait", None)
    return bool(never_wait is not None and never_wait())


def watched_fd(cancel: Cancellation) -> int | None:
    """The file number the pump waits on: the socket of the request being read, or None
    when there is none to watch (then the reply's own thread reads on)."""
    sock = cancel.socket
    if sock is None:
        return None
    try:
        fd = sock.fileno()
    except OSError:
        return None
    return fd if fd >= 0 else None


def close_stream(batches: Iterator[Any]) -> None:
    """End a stream (its response goes back to the pool, or is closed)."""
    close = getattr(batches, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            log.exception("could not close a reply's stream")
