"""What `/api/ps` says, put the way `ollama ps` shows it to a person."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..ollama.hosts import Hosts

# keep_alive -1 gives an expiry centuries ahead ("2319-03-07T..."): that means never.
_NEVER_AFTER_YEAR = 2200


def processor_split(size: int, size_vram: int) -> str:
    """`100% GPU`, `100% CPU`, or `48%/52% CPU/GPU`, exactly like `ollama ps`."""
    if size <= 0:
        return "unknown"
    if size_vram <= 0:
        return "100% CPU"
    if size_vram >= size:
        return "100% GPU"
    gpu = round(size_vram / size * 100)
    return f"{100 - gpu}%/{gpu}% CPU/GPU"


def parse_expiry(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Go prints nanoseconds; Python takes at most microseconds.
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _count(value: Any) -> int:
    """A byte count from Ollama; anything that is not a sane number counts as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value) if 0 <= value < 2**63 else 0


def describe_loaded(model: dict[str, Any]) -> dict[str, Any]:
    size = _count(model.get("size"))
    size_vram = _count(model.get("size_vram"))
    expires = parse_expiry(model.get("expires_at"))
    never = expires is not None and expires.year >= _NEVER_AFTER_YEAR
    return {
        "name": model.get("name") or model.get("model") or "",
        "size": size,
        "size_vram": size_vram,
        "size_mb": round(size / 1024 / 1024, 1),
        "vram_mb": round(size_vram / 1024 / 1024, 1),
        "processor": processor_split(size, size_vram),
        "expires_at": None if never or expires is None else expires.isoformat(),
        "expires_never": never,
        # keep_alive 0 on a model that is answering: Ollama shows it expiring now and
        # releases it when the running requests end.
        "unloading": expires is not None and expires <= datetime.now(timezone.utc),
        "context_length": model.get("context_length"),
        "details": model.get("details") or {},
    }


def loaded_summary(models: list[dict[str, Any]]) -> str:
    """The seed's `/models` output."""
    if not models:
        return "No models are currently loaded."
    lines = ["Models currently loaded in memory:"]
    for m in models:
        lines.append(f"- {m['name']} ({m['size_mb']:.1f} MB, {m['processor']}, "
                     f"VRAM usage: {m['vram_mb']:.1f} MB)")
    return "\n".join(lines)


LOADED_PUSH_SECONDS = 5.0  # how often the watch looks at /api/ps while sockets are open


class LoadedWatch:
    """Pushes `/api/ps` to every open socket: when it changes (checked every few seconds),
    and at once when poked (a reply ended, a model was unloaded, pulled or deleted).

    The thread runs only while sockets are open, so an idle server asks Ollama nothing.
    """

    def __init__(self, fetch: Callable[[], dict[str, Any]],
                 broadcast: Callable[[dict[str, Any]], int],
                 listeners: Callable[[], int], interval: float = LOADED_PUSH_SECONDS) -> None:
        self._fetch = fetch
        self._broadcast = broadcast
        self._listeners = listeners
        self.interval = interval
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: str | None = None
        self._force = False

    def poke(self, force: bool = False) -> None:
        """Look now; `force` pushes even when nothing changed (a new socket wants it)."""
        with self._lock:
            self._force = self._force or force
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="loaded-watch",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                if self._listeners() == 0:
                    self._thread = None
                    self._last = None
                    return
                force, self._force = self._force, False
            try:
                frame: dict[str, Any] = {"type": "loaded", **self._fetch()}
            except Exception as exc:  # Ollama down: say so once, the page shows a banner
                frame = {"type": "loaded", "models": [], "error": str(exc)}
            key = json.dumps(frame, sort_keys=True)
            if force or key != self._last:
                self._last = key
                self._broadcast(frame)


def loaded_state(hosts: Hosts) -> dict[str, Any]:
    """What every host holds in memory, each entry naming its host, and with several
    hosts which are up (`/api/loaded`, the `loaded` push). Raises when no host
    answered."""
    loaded, answers = hosts.loaded()
    state: dict[str, Any] = {"models": [{**describe_loaded(m), "host": host.label}
                                        for host, m in loaded]}
    if hosts.several:
        state["hosts"] = hosts.summary(answers)
    return state
