"""What can go wrong talking to Ollama, as typed exceptions.

Their own module because every layer catches them (the client raises, the reply runner,
the pulls, the API and the socket turn them into answers): `str()` is fit to show a
person and `status` is the HTTP status the API answers with.
"""

from __future__ import annotations


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

