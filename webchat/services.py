"""The long-lived objects one app instance shares between requests and sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .limits import RateLimiter, SocketCounter
from .loaded import LoadedWatch
from .ollama import OllamaClient
from .preload import Preloads
from .pulls import Pulls
from .replies import ActiveReplies
from .sessions import SessionManager
from .usage import ModelUsage


@dataclass
class Services:
    config: Any  # the Flask config: limits are read live, so tests can change them
    client: OllamaClient
    sessions: SessionManager
    active: ActiveReplies
    usage: ModelUsage
    sockets: SocketCounter
    message_rate: RateLimiter
    connections: set[Any] = field(default_factory=set)  # open ChatConnections
    loaded_watch: LoadedWatch = field(init=False)  # pushes /api/ps to the sockets
    pulls: Pulls = field(init=False)  # model downloads
    preloads: Preloads = field(init=False)  # models loading because they were picked

    def __post_init__(self) -> None:
        self.loaded_watch = LoadedWatch(self.client.list_loaded_models, self.broadcast,
                                        lambda: len(self.watchers()))
        self.pulls = Pulls(self.client, self.broadcast, self.loaded_watch.poke)
        self.preloads = Preloads(self.client)

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

    def replying_with(self, model: str) -> bool:
        return any(reply.model == model and not reply.ending for reply in self.active.all())

    def preload(self, sid: str, name: str, keep_alive: Any = None) -> dict[str, Any]:
        """Load a picked model now; the browser counts as using it (fair unloads)."""
        self.usage.used(sid, name)
        self.loaded_watch.poke()
        try:
            return self.preloads.load(sid, name, keep_alive)
        finally:
            self.loaded_watch.poke()

    def unload(self, name: str) -> dict[str, Any]:
        """Unload now, or say truly that Ollama will do it when a running reply ends.
        A preload of the model is cut first: the unload wins."""
        self.preloads.cancel(model=name, reason="unloaded")
        if self.replying_with(name):
            # Ollama defers keep_alive 0 until running requests end (its expireRunner),
            # so the reply goes on and /api/ps shows the model expiring now.
            self.client.unload_model(name, wait=0)
            self.loaded_watch.poke()
            return {"model": name, "unloaded": False, "deferred": True, "was_loaded": True,
                    "text": f"'{name}' is answering a message right now; Ollama will "
                            "release it as soon as that reply ends."}
        was_loaded = self.client.is_loaded(name)
        gone = self.client.unload_model(name)  # also for an unknown name: Ollama's 404
        self.loaded_watch.poke()
        if not was_loaded:
            text = f"'{name}' was not loaded, so there was nothing to release."
        elif gone:
            text = f"Released '{name}' from memory. It will be reloaded on the next message."
        else:
            text = f"Asked Ollama to release '{name}'; it is still listed as loaded."
        return {"model": name, "unloaded": gone and was_loaded, "deferred": False,
                "was_loaded": was_loaded, "text": text}
