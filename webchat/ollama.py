"""Ollama's HTTP API on plain `requests`: every byte sent and received stays visible.

One `requests.Session` per client reuses connections. A streamed reply can be aborted
from another thread at any moment, also while the model is still loading and Ollama has
not sent its response headers yet: the socket is shut down under the blocked read,
which is what makes Ollama stop generating.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from .stream_reader import BrokenFraming, body_reader

log = logging.getLogger(__name__)


class OllamaError(Exception):
    """Anything that went wrong talking to Ollama; `str()` is fit to show a person."""

    status = 502


class OllamaUnreachable(OllamaError):
    status = 503


class ModelNotFound(OllamaError):
    status = 404


class OllamaRejected(OllamaError):
    """Ollama answered a request with an HTTP error and its own message."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = 400 if 400 <= status < 500 else 502


class StreamFailed(OllamaError):
    """The stream broke: an error line, a dropped connection, garbage, or no `done`."""


class StreamTimeout(StreamFailed):
    status = 504


class Cancelled(OllamaError):
    """The reader was stopped on purpose (Stop button, browser gone)."""


class Cancellation:
    """A switch another thread flips to abort one streamed request at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.cancelled = False
        self.reason = ""

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.cancelled:
                _shutdown(sock)

    def detach(self) -> None:
        """Forget the socket so a later cancel cannot cut a pooled connection."""
        with self._lock:
            self._sock = None

    def cancel(self, reason: str = "stopped") -> None:
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            self.reason = reason
            _shutdown(self._sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_active = threading.local()


class _AbortableMixin:
    """Hands the socket to the thread's Cancellation before waiting for headers."""

    sock: socket.socket | None

    def getresponse(self):  # type: ignore[no-untyped-def]
        token = getattr(_active, "token", None)
        if token is not None:
            token.attach(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _AbortableHTTPConnection(_AbortableMixin, HTTPConnection):
    pass


class _AbortableHTTPSConnection(_AbortableMixin, HTTPSConnection):
    pass


class _AbortableHTTPPool(HTTPConnectionPool):
    ConnectionCls = _AbortableHTTPConnection


class _AbortableHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _AbortableHTTPSConnection


class _AbortableAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _AbortableHTTPPool,
            "https": _AbortableHTTPSPool,
        }


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
                yield _parse_line(line)
    if buffer.strip():
        yield _parse_line(buffer)


def _parse_line(line: bytes) -> dict[str, Any]:
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


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return f"HTTP {response.status_code} {response.reason}".strip()


class OllamaClient:
    """Talks to one Ollama server; safe to share between threads."""

    # Idle keep-alive connections kept for reuse: enough for a LAN of concurrent replies
    # without reconnecting, and a bound on what the server holds open towards Ollama.
    POOL_SIZE = 32

    def __init__(self, base_url: str, connect_timeout: float = 5.0,
                 read_timeout: float = 300.0, info_timeout: float = 15.0,
                 unload_timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.info_timeout = info_timeout
        # An unload is quick unless Ollama is stuck; then say so soon, not after a minute.
        self.unload_timeout = unload_timeout
        self.http = requests.Session()
        adapter = _AbortableAdapter(pool_maxsize=self.POOL_SIZE)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    # -- plain requests -------------------------------------------------------------

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None,
                 timeout: float | None = None) -> Any:
        try:
            response = self.http.request(
                method, self.base_url + path, json=payload, allow_redirects=False,
                timeout=(self.connect_timeout, timeout or self.info_timeout))
        except requests.Timeout as exc:
            raise OllamaUnreachable(
                f"Ollama at {self.base_url} did not answer within "
                f"{timeout or self.info_timeout:g} s; it may be busy or stuck") from exc
        except requests.ConnectionError as exc:
            raise self._unreachable() from exc
        self._raise_for_status(response)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise OllamaError(f"Ollama sent a body that is not JSON ({path})") from exc

    def _unreachable(self) -> OllamaUnreachable:
        return OllamaUnreachable(
            f"Cannot reach Ollama at {self.base_url}. Is it running? (start it with "
            "`ollama serve`, or point --ollama-url at it)")

    def _raise_for_status(self, response: requests.Response) -> None:
        if 300 <= response.status_code < 400:
            # Following it would send the chat (history, system prompt) to wherever the
            # redirect points, and only --ollama-url is ever to be contacted.
            where = response.headers.get("Location", "")[:120]
            raise OllamaError(f"Ollama answered with a redirect (HTTP {response.status_code}"
                              f"{' to ' + where if where else ''}); it was not followed. "
                              "Check --ollama-url.")
        if response.status_code < 400:
            return
        message = _error_message(response)
        if response.status_code == 404:
            raise ModelNotFound(message)
        raise OllamaRejected(message, response.status_code)

    def list_models(self) -> list[dict[str, Any]]:
        """Installed models, as `/api/tags` lists them."""
        return list(self._request("GET", "/api/tags").get("models", []))

    def version(self) -> str:
        """Ollama's version (`/api/version`), e.g. "0.24.0"."""
        return str(self._request("GET", "/api/version").get("version") or "")

    def list_loaded_models(self) -> list[dict[str, Any]]:
        """Models in memory, as `/api/ps` lists them (size, size_vram, expires_at...)."""
        return list(self._request("GET", "/api/ps").get("models", []))

    def is_loaded(self, name: str) -> bool:
        """Is the model in memory now? Asked with the unload's short timeout."""
        models = self._request("GET", "/api/ps", timeout=self.unload_timeout).get("models")
        return any(m.get("name") == name or m.get("model") == name for m in models or [])

    def show_model(self, name: str) -> dict[str, Any]:
        return dict(self._request("POST", "/api/show", {"model": name}))

    def unload_model(self, name: str, wait: float = 2.0) -> bool:
        """Ask Ollama to drop the model from memory now (`keep_alive: 0`).

        Ollama answers before `/api/ps` forgets the model (about 100 ms later), so poll
        briefly; True once it is gone, False if it is still listed after `wait` seconds.
        """
        self._request("POST", "/api/generate", {"model": name, "keep_alive": 0},
                      timeout=self.unload_timeout)
        deadline = time.monotonic() + wait
        while True:
            if not any(m.get("name") == name or m.get("model") == name
                       for m in self.list_loaded_models()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def load_model(self, payload: dict[str, Any], cancel: Cancellation) -> dict[str, Any]:
        """Load a model without a prompt (`{"model": M, "keep_alive"?: K}` to
        `/api/generate`); Ollama answers once it is in memory (`done_reason: "load"`).
        `cancel` cuts the request at once, as Stop does for a reply."""
        with self._streaming("/api/generate", payload, cancel,
                             "The connection to Ollama broke while the model loaded") as response:
            body = response.content
        if cancel.cancelled:
            raise Cancelled(cancel.reason)
        try:
            answer = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise OllamaError("Ollama sent a body that is not JSON (load)") from exc
        return answer if isinstance(answer, dict) else {}

    def delete_model(self, name: str) -> None:
        """Remove an installed model from disk (`DELETE /api/delete`)."""
        self._request("DELETE", "/api/delete", {"model": name}, timeout=60.0)

    def pull(self, name: str, cancel: Cancellation | None = None) -> Iterator[dict[str, Any]]:
        """Stream `/api/pull`'s progress lines (`status`, and per layer `digest`, `total`,
        `completed`). Cancelling closes the connection, which makes Ollama stop the
        download (it keeps the finished layers for next time)."""
        cancel = cancel or Cancellation()
        with self._streaming("/api/pull", {"model": name}, cancel,
                             "The download broke off") as response:
            for line in iter_ndjson(response.iter_content(chunk_size=None)):
                if "error" in line:
                    raise StreamFailed(str(line["error"]))
                yield line
            if cancel.cancelled:
                raise Cancelled(cancel.reason)

    # -- streaming ------------------------------------------------------------------

    def stream(self, path: str, payload: dict[str, Any],
               cancel: Cancellation | None = None) -> Iterator[StreamEvent]:
        """Stream `/api/chat` or `/api/generate`, yielding content, thinking, done.
        `more` is set on an event when the next one arrived with it."""
        for batch in self.stream_batches(path, payload, cancel):
            for event, following in zip(batch, batch[1:], strict=False):
                event.more = following.kind != "done"
            yield from batch

    def stream_batches(self, path: str, payload: dict[str, Any],
                       cancel: Cancellation | None = None) -> Iterator[list[StreamEvent]]:
        """Stream `/api/chat` or `/api/generate` in batches: each batch is every event
        already received when the reader asks (one token at a model's pace, many when
        the reader paused or fell behind); the last batch ends with `done`."""
        cancel = cancel or Cancellation()
        text_key = "response" if path == "/api/generate" else None
        with self._streaming(path, payload, cancel,
                             "The connection to Ollama broke mid-reply") as response:
            yield from self._batches(response, text_key, cancel)

    @contextmanager
    def _streaming(self, path: str, payload: dict[str, Any], cancel: Cancellation,
                   broke: str) -> Iterator[requests.Response]:
        """POST a streamed request that `cancel` can abort at any moment, and turn what
        can go wrong into this module's errors (a cancel always wins)."""
        _active.token = cancel
        try:
            try:
                response = self.http.post(
                    self.base_url + path, json={**payload, "stream": True}, stream=True,
                    allow_redirects=False, timeout=(self.connect_timeout, self.read_timeout))
            finally:
                _active.token = None
            with response:
                if cancel.cancelled:
                    raise Cancelled(cancel.reason)
                self._raise_for_status(response)
                yield response
        except Cancelled:
            raise
        except OllamaError:
            if cancel.cancelled:
                raise Cancelled(cancel.reason) from None
            raise
        except (requests.RequestException, OSError) as exc:
            if cancel.cancelled:
                raise Cancelled(cancel.reason) from None
            if _caused_by(exc, NewConnectionError, ConnectTimeoutError):
                raise self._unreachable() from exc
            if isinstance(exc, (requests.Timeout, TimeoutError)) or _caused_by(
                    exc, ReadTimeoutError):
                raise StreamTimeout(
                    f"Ollama sent nothing for {self.read_timeout:g} s, so the request was "
                    "abandoned") from exc
            log.warning("%s: %s", broke, _short(exc))  # the detail is for the log only
            raise StreamFailed(f"{broke}. Ollama may have stopped or restarted; "
                               "try again.") from exc
        finally:
            cancel.detach()

    def _batches(self, response: requests.Response, text_key: str | None,
                 cancel: Cancellation) -> Iterator[list[StreamEvent]]:
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
                        line = _parse_line(raw)
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


def _caused_by(exc: BaseException, *kinds: type[BaseException]) -> bool:
    """Look through requests' wrapping for urllib3's own error, e.g. to tell 'nothing
    listens there' from 'it answered, then the line dropped'."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__ or _first_arg(current)
    return False


def _first_arg(exc: BaseException) -> BaseException | None:
    """requests wraps urllib3's error as the first argument, not as a cause."""
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, BaseException):
        return inner
    reason = getattr(inner, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
