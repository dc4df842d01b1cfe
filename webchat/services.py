"""The long-lived objects one app instance shares between requests and sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .active_replies import ActiveReplies
from .limits import RateLimited, RateLimiter, SocketCounter
from .loaded import LoadedWatch, describe_loaded
from .model_names import same_model
from .ollama import OllamaClient
from .ollama_errors import ModelNotFound
from .ollama_hosts import Host, Hosts
from .peers import PeerLimits
from .preload import Preloads
from .pulls import Pulls
from .sessions import SessionManager
from .usage import ModelUsage


@dataclass
class Services:
    config: Any  # the Flask config: limits are read live, so tests can change them
    hosts: Hosts  # every Ollama server, in preference order
    sessions: SessionManager
    active: ActiveReplies
    usage: ModelUsage
    sockets: SocketCounter
    message_rate: RateLimiter
    connections: set[Any] = field(default_factory=set)  # open ChatConnections
    loaded_watch: LoadedWatch = field(init=False)  # pushes /api/ps to the sockets
    pulls: Pulls = field(init=False)  # model downloads
    preloads: Preloads = field(init=False)  # models loading because they were picked
    last_host: dict[int, str] = field(default_factory=dict)  # conversation -> host label
    model_rate: RateLimiter = field(init=False)  # model operations per browser

    def __post_init__(self) -> None:
        self.model_rate = RateLimiter(self.config.get("MODEL_OPS_PER_MINUTE", 60), 60.0)
        self.loaded_watch = LoadedWatch(self.loaded_state, self.broadcast,
                                        lambda: len(self.watchers()))
        self.pulls = Pulls(self.hosts, self.broadcast, self.loaded_watch.poke)
        self.preloads = Preloads(self.client)

    @property
    def client(self) -> OllamaClient:
        """The first (preferred) host's client: with one host, the only one."""
        return self.hosts.primary.client

    def loaded_state(self) -> dict[str, Any]:
        """What every host holds in memory, each entry naming its host, and with several
        hosts which are up (`/api/loaded`, the `loaded` push). Raises when no host
        answered."""
        loaded, answers = self.hosts.loaded()
        state: dict[str, Any] = {"models": [{**describe_loaded(m), "host": host.label}
                                            for host, m in loaded]}
        if self.hosts.several:
            state["hosts"] = self.hosts.summary(answers)
        return state

    def busy_hosts(self) -> dict[str, int]:
        """Replies this app is streaming, per host label."""
        counts: dict[str, int] = {}
        for reply in self.active.all():
            label = getattr(reply.host, "label", "")
            counts[label] = counts.get(label, 0) + 1
        return counts

    def watchers(self) -> list[Any]:
        """The open sockets that asked for pushes (a `watch` frame)."""
        return [c for c in list(self.connections) if getattr(c, "watching", False)]

    def broadcast(self, frame: dict[str, Any]) -> int:
        """Send a frame to every watching socket; returns how many got it."""
        return sum(1 for connection in self.watchers() if connection.send(frame))

    def close_sockets(self, reason: str = "The server is shutting down") -> None:
        """Say goodbye to every open socket so a graceful stop need not wait for them."""
        for connection in list(self.connections):
            try:
                connection.ws.close(reason=1001, message=reason)
            except Exception:
                pass  # already gone

    def replying_with(self, model: str, host: Host | None = None) -> bool:
        """A reply is streaming from `model` (any spelling of it) on `host`."""
        return any(same_model(reply.model, model) and not reply.ending
                   and (host is None or reply.host is host) for reply in self.active.all())

    def model_op(self, sid: str, peers: PeerLimits, address: str) -> None:
        """Count one model operation (load, unload, show, pull, delete) for this browser
        and its address, or raise RateLimited. Each is a request to Ollama: 20,000 loads
        of names that do not exist were 20,000 requests, and each left a claim that
        SIGTERM then unloaded one by one (23 s)."""
        wait = self.model_rate.hit(sid)
        if wait:
            limit = self.config.get("MODEL_OPS_PER_MINUTE", 60)
            raise RateLimited(f"Too many model operations: at most {limit} a minute. Try "
                              f"again in {int(wait) + 1} s.", wait)
        wait = peers.model_op(address)
        if wait:
            limit = self.config.get("MODEL_OPS_PER_ADDRESS", 120)
            raise RateLimited(f"Too many model operations from this address: at most "
                              f"{limit} a minute for all its browsers. Try again in "
                              f"{int(wait) + 1} s.", wait)

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
