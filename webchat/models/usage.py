"""Which browser sessions use which models, so VRAM is released fairly.

The seed unloads its model when its chat ends and when the process ends. A shared server
does that by reference count: when the last open session that used a model goes away
(its sockets closed and not back within a grace period) or ends with `/exit`, the model
is unloaded unless another open session has used it too. On shutdown the server unloads
the models it loaded. With several Ollama hosts a claim is on a (host, model) pair: the
same model loaded on two machines is two things to release. Models are compared as
Ollama names them (webchat/ollama/names.py): `GEMMA3:270m` and
`registry.ollama.ai/library/gemma3:270m` are the model another browser uses as
`gemma3:270m`.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from ..ollama.names import canonical

log = logging.getLogger(__name__)


Claim = tuple[str, str]  # (host label, model); "" as host: wherever it is loaded


class ModelUsage:
    def __init__(self, unload: Callable[[str, str], object], grace: float,
                 unload_on_leave: bool = True) -> None:
        self._unload = unload
        self.grace = grace
        self.unload_on_leave = unload_on_leave
        self._lock = threading.Lock()
        self._open: dict[str, int] = defaultdict(int)  # sid -> open sockets
        self._models: dict[str, set[Claim]] = defaultdict(set)  # sid -> (host, model) used
        self._timers: dict[str, threading.Timer] = {}
        self.loaded_by_us: set[Claim] = set()

    def socket_opened(self, sid: str) -> None:
        with self._lock:
            self._open[sid] += 1
            timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()  # came back within the grace period

    def socket_closed(self, sid: str) -> None:
        with self._lock:
            self._open[sid] -= 1
            if self._open[sid] > 0:
                return
            del self._open[sid]
            if not self.unload_on_leave or sid not in self._models:
                return
            timer = threading.Timer(self.grace, self._leave, args=(sid,))
            timer.daemon = True
            self._timers[sid] = timer
        timer.start()

    def used(self, sid: str, model: str, host: str = "") -> None:
        with self._lock:
            self._models[sid].add((host, model))
            self.loaded_by_us.add((host, model))

    def others_using(self, sid: str, model: str, host: str = "") -> bool:
        """Another browser, still open or within its grace period, has used the model on
        `host` ("" : on any host; a claim without a host counts on every host)."""
        key = canonical(model)
        with self._lock:
            return any(other != sid and _covers(claims, key, host)
                       for other, claims in self._models.items())

    def rename(self, old: str, new: str) -> None:
        """The browser's id was renewed (webchat/guard/auth.py): its claims go with it. Its
        open sockets stay counted under the old id, which they close as."""
        with self._lock:
            if old in self._models:
                self._models[new] |= self._models.pop(old)

    def forget_claim(self, sid: str, model: str, host: str = "") -> None:
        """Drop a claim on a model Ollama does not have (a load of a name that does not
        exist): nothing to unload later, at the browser's leave or at shutdown."""
        with self._lock:
            self._models.get(sid, set()).discard((host, model))
            if not any((host, model) in claims for claims in self._models.values()):
                self.loaded_by_us.discard((host, model))

    def _leave(self, sid: str) -> None:
        with self._lock:
            if self._open.get(sid, 0) > 0:
                return
            self._timers.pop(sid, None)
        self.release(sid)

    def release(self, sid: str) -> tuple[list[str], list[str]]:
        """Drop this session's claims; unload what nobody else holds.

        Returns the model names (unloaded, kept for other sessions)."""
        with self._lock:
            claims = sorted(self._models.pop(sid, set()))
            held = {c for other in self._models.values() for c in other}
        unloaded: list[str] = []
        kept: list[str] = []
        for claim in claims:
            host, model = claim
            if _covers(held, canonical(model), host):
                _add(kept, model)
                continue
            try:
                self._unload(model, host)
                _add(unloaded, model)
                with self._lock:
                    self.loaded_by_us.discard(claim)
            except Exception as exc:  # Ollama down: nothing to free anyway
                log.warning("could not unload %s on %s: %s", model, host or "its host", exc)
        return unloaded, kept

    def forget(self) -> list[str]:
        """Cancel pending unloads without unloading anything."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            self.loaded_by_us.clear()
        return []

    def shutdown(self) -> list[str]:
        """Unload everything this server loaded (SIGINT/SIGTERM)."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            claims = sorted(self.loaded_by_us)
            self.loaded_by_us.clear()
        done: list[str] = []
        for host, model in claims:
            try:
                self._unload(model, host)
                _add(done, model)
            except Exception as exc:
                log.warning("could not unload %s on %s: %s", model, host or "its host", exc)
        return done


def _covers(claims: set[Claim], key: str, host: str) -> bool:
    """A claim in `claims` is on the model `key` (canonical) where `host` is: the same
    host, or either side not saying which."""
    return any(canonical(model) == key and (not host or not where or where == host)
               for where, model in claims)


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)
