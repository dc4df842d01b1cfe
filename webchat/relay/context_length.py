"""How long the context of the next request really is, in tokens.

In the order that decides it on a real Ollama (read in its source, v0.24.0 and v0.32.15):
1. `num_ctx` in the request's options: Ollama (re)loads the model with it, capped at the
   length the model was trained for (llm/server.go: "requested context size too large
   for model").
2. `/api/ps` `context_length` of the model when it is loaded: what its runner really
   runs with (the Modelfile's num_ctx, OLLAMA_CONTEXT_LENGTH, or the default below, and
   0.32 may lower an automatic one to fit memory).
3. The Modelfile's `num_ctx` (`/api/show` `parameters`).
4. The release's default: 2048 before 0.6.7, 4096 from 0.6.7, and since 0.15.5 one that
   depends on the machine's VRAM (server/routes.go: 262,144 from 47 GiB, 32,768 from
   23 GiB, else 4096). A client cannot see the VRAM, so 4096 is taken, the smallest: a
   window cut for a shorter context than the real one still fits. Once the model is
   loaded, 2. tells the truth.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

from ..ollama.modelinfo import describe_show
from ..ollama.names import same_model
from ..store.context_fit import Budget, reply_reserve

if TYPE_CHECKING:
    from ..ollama.hosts import Host

SHOW_MAX_AGE = 60.0  # seconds a model's /api/show facts are trusted (they change on create)
_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)


def version_tuple(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version.split("-")[0])[:3]
    return tuple(int(n) for n in numbers) if numbers else (0,)


def default_context(version: str) -> int:
    """The context a model gets when nothing sets it, as far as a client can know."""
    if version and version_tuple(version) < (0, 6, 7):
        return 2048
    return 4096


def modelfile_num_ctx(parameters: Any) -> int | None:
    """`num_ctx` from `/api/show`'s `parameters` text ("num_ctx    2048")."""
    if not isinstance(parameters, str):
        return None
    found = _NUM_CTX.search(parameters)
    return int(found.group(1)) if found else None


def _positive(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def resolve_context(options: dict[str, Any], loaded: Any, modelfile: int | None,
                    trained: Any, version: str) -> tuple[int, str]:
    """The context length and, in words, where it comes from (see the module's list)."""
    trained_length = _positive(trained)

    def capped(value: int, source: str) -> tuple[int, str]:
        if trained_length is not None and value > trained_length:
            return trained_length, f"{source}, capped at the model's trained {trained_length:,}"
        return value, source

    num_ctx = _positive(options.get("num_ctx"))
    if num_ctx is not None:
        return capped(num_ctx, "num_ctx")
    if _positive(loaded) is not None:
        return int(loaded), "as loaded, /api/ps"
    if modelfile is not None and modelfile > 0:
        return capped(modelfile, "the model's num_ctx")
    return capped(default_context(version), f"Ollama {version or ''} default".replace("  ", " "))


class ContextLengths:
    """Asks a host what decides the context length: `/api/ps` every time (a load or an
    unload changes it), `/api/show` and `/api/version` from a short cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shown: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._versions: dict[str, tuple[float, str]] = {}

    def _show(self, host: Host, model: str) -> dict[str, Any]:
        key = (host.label, model)
        with self._lock:
            hit = self._shown.get(key)
        if hit is not None and time.monotonic() - hit[0] < SHOW_MAX_AGE:
            return hit[1]
        show = host.client.show_model(model)
        facts = {"trained": describe_show(model, show)["context_length"],
                 "modelfile": modelfile_num_ctx(show.get("parameters"))}
        with self._lock:
            self._shown[key] = (time.monotonic(), facts)
        return facts

    def version(self, host: Host) -> str:
        """`/api/version`, asked again after SHOW_MAX_AGE (Ollama may be upgraded)."""
        with self._lock:
            hit = self._versions.get(host.label)
        if hit is not None and time.monotonic() - hit[0] < SHOW_MAX_AGE:
            return hit[1]
        try:
            known = host.client.version()
        except Exception:  # an old or odd Ollama: the default rule still applies
            known = ""
        with self._lock:
            self._versions[host.label] = (time.monotonic(), known)
        return known

    def budget(self, host: Host, model: str, options: dict[str, Any]) -> Budget:
        """The context the request will run in on `host`, and the room for the reply."""
        facts = self._show(host, model)
        loaded = None
        if _positive(options.get("num_ctx")) is None:
            for entry in host.client.list_loaded_models():
                if same_model(model, str(entry.get("name") or "")) \
                        or same_model(model, str(entry.get("model") or "")):
                    loaded = entry.get("context_length")
        limit, source = resolve_context(options, loaded, facts["modelfile"],
                                        facts["trained"], self.version(host))
        return Budget(limit, source, reply_reserve(options, limit))
