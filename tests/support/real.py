"""Where the real Ollama is, and small helpers for the tests that talk to it.

scripts/test.sh starts the real Ollama beside the repo (../shared/real-ollama, 0.32.15) and
sets WEBCHAT_TEST_OLLAMA_URL; when it cannot, it says why in WEBCHAT_TEST_REAL_OLLAMA_SKIP, so
the skip reason in pytest's summary is the true one. For the contract scenarios it also
starts the older release (0.24.0) and sets WEBCHAT_TEST_OLLAMA_URL_0_24 (or, when it cannot,
WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP).

The models (Gemma 3 270M, a base model) write poor text by design: tests check behaviour
(statuses, frames, counts, what reached Ollama), never wording.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

REAL_URL: str | None = os.environ.get("WEBCHAT_TEST_OLLAMA_URL") or None
WHY_NOT = (os.environ.get("WEBCHAT_TEST_REAL_OLLAMA_SKIP")
           or "WEBCHAT_TEST_OLLAMA_URL is not set (scripts/test.sh sets it when "
              "../shared/real-ollama is beside the repo)")
SKIP_REASON = f"no real Ollama: {WHY_NOT}"

needs_real_ollama = [
    pytest.mark.real_ollama,
    pytest.mark.skipif(REAL_URL is None, reason=SKIP_REASON),
]
OLDER_URL: str | None = os.environ.get("WEBCHAT_TEST_OLLAMA_URL_0_24") or None
OLDER_SKIP_REASON = "no real Ollama 0.24: " + (
    os.environ.get("WEBCHAT_TEST_REAL_OLLAMA_0_24_SKIP")
    or "WEBCHAT_TEST_OLLAMA_URL_0_24 is not set (scripts/test.sh sets it when "
       "../shared/real-ollama is beside the repo)")
needs_older_ollama = [
    pytest.mark.real_ollama,
    pytest.mark.skipif(OLDER_URL is None, reason=OLDER_SKIP_REASON),
]

GEMMA = "gemma3:270m"  # Gemma 3's own template, default context
TINY = "tiny-assistant:latest"  # same weights, another blob, a SYSTEM prompt, num_ctx 2048
REPLY_TIMEOUT = 120.0  # seconds for a short reply on 2 busy cores (45 tokens/s when idle)
# A prompt this base model answers at length (it repeats itself up to num_predict).
LONG_ANSWER = "Count from 1 to 500, one number per line."
# What each release's log says when a model starts loading, and when a load a client left
# was given up (seen in run-PORT/serve.log of ../shared/real-ollama/start). 0.24 loads in its
# own `ollama runner` process; 0.32 in llama.cpp's `llama-server`, and names the hang-up.
LOAD_STARTED = {"0.24.0": 'msg="starting runner"', "0.32.15": 'msg="starting llama-server"'}
LOAD_ABANDONED = {
    "0.24.0": ('msg="Load failed"',),
    "0.32.15": ('msg="client connection closed before llama-server finished loading, '
                'aborting load"', 'msg="Load failed"'),
}
_GIN = re.compile(r'^\[GIN\] .*?\|\s*(\d{3})\s*\|\s*(\S+)\s*\|.*\|\s*(\w+)\s+"([^"]+)"')


def ollama(method: str, path: str, payload: dict[str, Any] | None = None,
           timeout: float = REPLY_TIMEOUT) -> requests.Response:
    """Ask the real Ollama directly (what the app would send), for setup and checks."""
    assert REAL_URL is not None
    return requests.request(method, REAL_URL + path, json=payload, timeout=timeout)


def load(model: str) -> dict[str, Any]:
    """Load a model with an empty request, as `ollama run` does before the first prompt.

    Models of one blob share a runner, listed in /api/ps under the name it was loaded by
    (gemma3-think:270m is gemma3:270m's blob): that runner is unloaded first, so the test
    sees `model` listed under its own name.
    """
    unload_namesakes(model)
    response = ollama("POST", "/api/generate", {"model": model})
    response.raise_for_status()
    return response.json()


def _weights(model: str) -> str:
    """The blob a model's weights are read from (the FROM line of its Modelfile): the
    digests in /api/tags and /api/ps name the manifest, which differs per template."""
    modelfile = ollama("POST", "/api/show", {"model": model}).json().get("modelfile", "")
    found = re.search(r"^FROM (\S+)", modelfile, re.MULTILINE)
    return found.group(1) if found else model


def unload_namesakes(model: str) -> list[str]:
    """Unload every loaded model that holds `model`'s blob under another name."""
    namesakes = [name for name in loaded_names()
                 if name != model and _weights(name) == _weights(model)]
    for name in namesakes:
        ollama("POST", "/api/generate", {"model": name, "keep_alive": 0}).raise_for_status()
    deadline = time.monotonic() + REPLY_TIMEOUT  # keep_alive 0 unloads after ~100 ms
    while namesakes and set(namesakes) & set(loaded_names()):
        assert time.monotonic() < deadline, f"{namesakes} still loaded"
        time.sleep(0.1)
    return namesakes


def version() -> str:
    """The release the real Ollama says it is."""
    return ollama("GET", "/api/version").json()["version"]


def loaded_names() -> list[str]:
    return [m["name"] for m in ollama("GET", "/api/ps").json()["models"]]


class ServeLog:
    """The log of a real Ollama that ../shared/real-ollama/start runs on this machine.

    Gin writes one line per request when its handler returns, so a new `POST /api/chat`
    line is proof that Ollama really ended that request (a stopped reply, a cancelled load).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def find(cls) -> ServeLog | None:
        if REAL_URL is None:
            return None
        where = urlsplit(REAL_URL)
        if where.hostname not in ("127.0.0.1", "localhost") or where.port is None:
            return None
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        home = Path(os.environ.get("WEBCHAT_REAL_OLLAMA_HOME") or cache / "webchat-real-ollama")
        path = home / f"run-{where.port}" / "serve.log"
        return cls(path) if path.is_file() else None

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> str:
        with self.path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace")

    def requests_since(self, mark: int, path: str) -> list[tuple[int, str]]:
        """(status, duration) of each request to `path` that ended after `mark`."""
        found = []
        for line in self.since(mark).splitlines():
            match = _GIN.match(line)
            if match and match.group(4) == path:
                found.append((int(match.group(1)), match.group(2)))
        return found
