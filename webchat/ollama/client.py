"""Ollama's HTTP API on plain `requests`: every byte sent and received stays visible.

One `requests.Session` per client reuses connections. A streamed reply can be aborted
from another thread at any moment, also while the model is still loading and Ollama has
not sent its response headers yet: the socket is shut down under the blocked read,
which is what makes Ollama stop generating (webchat/ollama/cancellation.py). The errors are
webchat/ollama/errors.py; turning the streamed lines into events is webchat/ollama/stream.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from .cancellation import AbortableAdapter, Cancellation, abortable
from .errors import (
    Cancelled,
    ModelNotFound,
    OllamaError,
    OllamaRejected,
    OllamaUnreachable,
    StreamFailed,
    StreamTimeout,
)
from .stream import StreamEvent, iter_ndjson, read_batches

log = logging.getLogger(__name__)


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
        adapter = AbortableAdapter(pool_maxsize=self.POOL_SIZE)
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
            yield from read_batches(response, text_key, cancel)

    @contextmanager
    def _streaming(self, path: str, payload: dict[str, Any], cancel: Cancellation,
                   broke: str) -> Iterator[requests.Response]:
        """POST a streamed request that `cancel` can abort at any moment, and turn what
        can go wrong into this module's errors (a cancel always wins)."""
        try:
            with abortable(cancel):
                response = self.http.post(
                    self.base_url + path, json={**payload, "stream": True}, stream=True,
                    allow_redirects=False, timeout=(self.connect_timeout, self.read_timeout))
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
