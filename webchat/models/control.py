"""What the app does to the models on its hosts when asked: preload one that was picked,
unload one (from one host or every host holding it).

Apart from the registry (webchat/services.py) so the long-lived objects are only held
there, and what happens to a model is read here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..ollama.errors import ModelNotFound
from ..ollama.hosts import Host, Hosts
from ..ollama.names import canonical
from .loaded import LoadedWatch
from .preload import Preloads
from .usage import ModelUsage

MAX_REMEMBERED_UNLOADS = 1024  # (host, model) pairs; forgetting one only allows a warm-up


class ModelControl:
    """Preloads and unloads, with the fair-unload bookkeeping and the `loaded` push."""

    def __init__(self, hosts: Hosts, usage: ModelUsage, preloads: Preloads,
                 loaded_watch: LoadedWatch,
                 replying_with: Callable[[str, Host | None], bool],
                 on_unload: Callable[[Host], None] | None = None) -> None:
        self.hosts = hosts
        self.usage = usage
        self.preloads = preloads
        self.loaded_watch = loaded_watch
        self.replying_with = replying_with  # a reply streams with this model (on host)
        # Told before each unload: a request of ours in flight on that host (the prompt
        # cache's warm-up, relay/cache_warm.py) would make Ollama put the unload off and
        # then keep the model loaded for its own keep_alive.
        self.on_unload = on_unload
        self._unload_asked: dict[tuple[str, str], float] = {}  # (host, model) -> monotonic

    def unload_asked_since(self, host: Host, name: str, since: float) -> bool:
        """Was `name` asked to leave `host` at or after `since` (a time.monotonic())? A
        request made for the app's own sake must not bring it back then."""
        return self._unload_asked.get((host.label, canonical(name)), -1.0) >= since

    def preload(self, sid: str, name: str, keep_alive: Any = None,
                host: Host | None = None) -> dict[str, Any]:
        """Load a picked model now, on `host` or where a chat with it would go; the
        browser counts as using it there (fair unloads)."""
        target = self.hosts.route(name, host)
        self.usage.used(sid, name, target.label)
        self.loaded_watch.poke()
        try:
            result = self.preloads.load(sid, name, keep_alive, target.client)
            return {**result, **({"host": target.label} if self.hosts.several else {})}
        except ModelNotFound:
            self.usage.forget_claim(sid, name, target.label)  # nothing to unload later
            raise
        finally:
            target.forget("ps")
            self.loaded_watch.poke()
            self.usage.seen(name, target.label)

    def unload(self, name: str, host: Host | None = None) -> dict[str, Any]:
        """Unload from `host`, or by default from every host where it is loaded.

        One host: as ever (asked even when /api/ps does not list it). The result names
        the host(s); with several, `hosts` holds each one's own result. A preload of
        the model is cut first: the unload wins."""
        self.preloads.cancel(model=name, reason="unloaded")
        if host is not None or not self.hosts.several:
            targets = [host or self.hosts.primary]
        else:
            targets = self.hosts.where_loaded(name)
        if not targets:
            return {"model": name, "unloaded": True, "deferred": False, "host": None,
                    "hosts": [], "text": f"'{name}' is not loaded on any host."}
        results = [self._unload_on(target, name) for target in targets]
        self.loaded_watch.poke()
        if len(results) == 1:
            return {**results[0], "hosts": results}
        return {"model": name, "unloaded": all(r["unloaded"] for r in results),
                "deferred": any(r["deferred"] for r in results),
                "host": ",".join(r["host"] for r in results), "hosts": results,
                "text": " ".join(r["text"] for r in results)}

    def _unload_on(self, host: Host, name: str) -> dict[str, Any]:
        """Unload now, or say truly that Ollama will do it when a running reply ends."""
        where = f" on {host.label}" if self.hosts.several else ""
        if len(self._unload_asked) >= MAX_REMEMBERED_UNLOADS:  # names may be made up
            self._unload_asked.clear()
        self._unload_asked[(host.label, canonical(name))] = time.monotonic()
        if self.on_unload is not None:
            self.on_unload(host)
        host.forget("ps")
        if self.replying_with(name, host if self.hosts.several else None):
            # Ollama defers keep_alive 0 until running requests end (its expireRunner),
            # so the reply goes on and /api/ps shows the model expiring now.
            host.client.unload_model(name, wait=0)
            return {"model": name, "host": host.label, "unloaded": False, "deferred": True,
                    "was_loaded": True,
                    "text": f"'{name}' is answering a message right now{where}; Ollama "
                            "will release it as soon as that reply ends."}
        was_loaded = host.client.is_loaded(name)
        gone = host.client.unload_model(name)  # also for an unknown name: Ollama's 404
        if not was_loaded:
            text = f"'{name}' was not loaded{where}, so there was nothing to release."
        elif gone:
            text = (f"Released '{name}' from memory{where}. It will be reloaded on the next "
                    "message.")
        else:
            text = f"Asked Ollama to release '{name}'{where}; it is still listed as loaded."
        return {"model": name, "host": host.label, "unloaded": gone,
                "deferred": False, "was_loaded": was_loaded, "text": text}
