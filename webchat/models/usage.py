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

Several app instances may share one Ollama, and none knows the others' browsers. So at a
leave a model is unloaded only if it still looks as this instance left it: `/api/ps`
shows the `expires_at` and `size` it showed just after this instance's last request with
it (`seen`). Ollama moves `expires_at` on every request that uses a model (keep_alive
counts from the request's end), so another instance's preload or reply since ours shows
as a changed expiry, and the model is left to that other user and its own keep_alive.
What this cannot tell is in the README ("Several instances on one Ollama").
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from ..ollama.hosts import Hosts
from ..ollama.names import canonical

log = logging.getLogger(__name__)


Claim = tuple[str, str]  # (host label, model); "" as host: wherever it is loaded
Look = tuple[str, int]  # what /api/ps shows of a loaded model: (expires_at, size)
# After one of our requests ends, Ollama moves the expiry a moment later (its scheduler
# hears of the end on a channel): the look is taken this long after.
SEEN_DELAY = 0.3


class ModelUsage:
    def __init__(self, unload: Callable[[str, str], object], grace: float,
                 unload_on_leave: bool = True,
                 look: Callable[[str, str], Look | None] | None = None) -> None:
        """`look(model, host)`: what /api/ps shows of the model on that host now (None:
        not loaded); without it every claim is unloaded at a leave, as before."""
        self._unload = unload
        self._look = look
        self._seen: dict[Claim, Look] = {}  # as /api/ps showed it after our last request
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

    def seen(self, model: str, host: str = "") -> None:
        """One of this instance's requests with `model` on `host` ended (a reply, a
        preload, a warm-up): remember how /api/ps shows it, a moment later."""
        if self._look is None:
            return
        timer = threading.Timer(SEEN_DELAY, self._take_look, args=((host, model),))
        timer.daemon = True
        timer.start()

    def _take_look(self, claim: Claim) -> None:
        try:
            look = self._look(claim[1], claim[0]) if self._look is not None else None
        except Exception as exc:  # Ollama down: nothing to compare with later
            log.debug("could not read /api/ps for %s: %s", claim[1], exc)
            return
        with self._lock:
            if look is None:
                self._seen.pop(claim, None)
            else:
                self._seen[claim] = look

    def touched_elsewhere(self, model: str, host: str = "") -> bool:
        """/api/ps shows the model otherwise than it did after our last request with it:
        someone else (another app, `ollama run`) has used or reloaded it since."""
        if self._look is None:
            return False
        with self._lock:
            mine = self._seen.get((host, model))
        if mine is None:
            return False  # never seen after a request of ours: as before, ours to free
        try:
            now = self._look(model, host)
        except Exception:
            return False  # Ollama down: the unload fails quietly anyway
        return now is not None and now != mine

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
            if self.touched_elsewhere(model, host):  # another instance's user: theirs now
                _add(kept, model)
                with self._lock:
                    self.loaded_by_us.discard(claim)
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
            if self.touched_elsewhere(model, host):
                continue
            try:
                self._unload(model, host)
                _add(done, model)
            except Exception as exc:
                log.warning("could not unload %s on %s: %s", model, host or "its host", exc)
        return done


def ps_look(hosts: Hosts, model: str, label: str = "") -> Look | None:
    """How `/api/ps` on the labelled host (default: the first) shows the model now:
    (expires_at, size), or None when it is not loaded there."""
    host = hosts.get(label) if label else hosts.primary
    key = canonical(model)
    for entry in host.client.list_loaded_models():
        names = (str(entry.get("name") or ""), str(entry.get("model") or ""))
        if key in {canonical(name) for name in names}:
            return str(entry.get("expires_at") or ""), int(entry.get("size") or 0)
    return None


def _covers(claims: set[Claim], key: str, host: str) -> bool:
    """A claim in `claims` is on the model `key` (canonical) where `host` is: the same
    host, or either side not saying which."""
    return any(canonical(model) == key and (not host or not where or where == host)
               for where, model in claims)


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)
