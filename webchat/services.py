"""The long-lived objects one app instance shares between requests and sockets: the one
registry (`app.extensions["webchat"]`), built whole in `create_app`.

What is done with them lives in their families: what happens to a model in
webchat/models/control.py, a reply in webchat/relay/, the guards in webchat/guard/.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .guard.limits import PartialBudget, RateLimited, RateLimiter, SocketCounter
from .guard.own_names import OwnNames
from .guard.peers import PeerLimits
from .guard.roles import GuestCloudModels
from .models.control import ModelControl
from .models.loaded import LoadedWatch, loaded_state
from .models.preload import Preloads
from .models.pulls import Pulls
from .models.usage import ModelUsage
from .ollama.client import OllamaClient
from .ollama.hosts import Host, Hosts
from .ollama.names import same_model
from .relay.cache_warm import CacheWarmer
from .relay.context_length import ContextLengths
from .relay.reply import Reply
from .relay.running import ActiveReplies
from .relay.starts import LoadTimes
from .store.manager import SessionManager
from .store.retention import Pruner


@dataclass
class Services:
    config: Any  # the Flask config: limits are read live, so tests can change them
    hosts: Hosts  # every Ollama server, in preference order
    sessions: SessionManager
    active: ActiveReplies[Reply]
    usage: ModelUsage
    sockets: SocketCounter
    message_rate: RateLimiter  # messages per browser
    peers: PeerLimits  # limits per network address
    pruner: Pruner  # forgets browsers that stored nothing
    own_names: OwnNames  # the names the app answers to (DNS rebinding)
    auth_failures: RateLimiter  # wrong access tokens per address
    slowed_guesses: threading.BoundedSemaphore  # wrong tokens waiting for their 429
    model_rate: RateLimiter  # model operations (load, unload, show, pull, delete) per browser
    partial_budget: PartialBudget  # what every socket holds unread, all together
    connections: set[Any] = field(default_factory=set)  # open ChatConnections
    loaded_watch: LoadedWatch = field(init=False)  # pushes /api/ps to the sockets
    pulls: Pulls = field(init=False)  # model downloads
    preloads: Preloads = field(init=False)  # models loading because they were picked
    models: ModelControl = field(init=False)  # preload and unload
    last_host: dict[int, str] = field(default_factory=dict)  # conversation -> host label
    load_times: LoadTimes = field(default_factory=LoadTimes)  # last load per host and model
    context_lengths: ContextLengths = field(default_factory=ContextLengths)  # per model
    cache_warm: CacheWarmer = field(default_factory=CacheWarmer)  # Ollama 0.30+'s cache
    guest_cloud: GuestCloudModels = field(init=False)  # may guests use cloud models

    def __post_init__(self) -> None:
        self.guest_cloud = GuestCloudModels(bool(self.config.get("ALLOW_CLOUD_MODELS")))
        self.loaded_watch = LoadedWatch(partial(loaded_state, self.hosts), self.broadcast,
                                        lambda: len(self.watchers()))
        self.pulls = Pulls(self.hosts, self.broadcast, self.loaded_watch.poke)
        self.preloads = Preloads(self.client)
        self.models = ModelControl(self.hosts, self.usage, self.preloads, self.loaded_watch,
                                   self.replying_with, on_unload=self.cache_warm.cancel)
        self.cache_warm.on_done = self.usage.seen  # a warm-up moves the model's expiry too

    @property
    def client(self) -> OllamaClient:
        """The first (preferred) host's client: with one host, the only one."""
        return self.hosts.primary.client

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

    def tell_tabs(self, sid: str, frame: dict[str, Any]) -> int:
        """Send a frame to every watching tab of browser `sid` (the conversation list's
        changes: each tab redraws its list, and one showing a conversation deleted
        elsewhere says so instead of failing at the next Enter); returns how many got it."""
        return sum(1 for connection in self.watchers()
                   if getattr(connection, "sid", None) == sid and connection.send(frame))

    def close_sockets(self, reason: str = "The server is shutting down") -> None:
        """Say goodbye to every open socket so a graceful stop need not wait for them."""
        for connection in list(self.connections):
            try:
                connection.ws.close(reason=1001, message=reason)
            except Exception:
                pass  # already gone

    def model_op(self, sid: str, address: str) -> None:
        """Count one model operation (load, unload, show, pull, delete) for this browser
        and its address, or raise RateLimited. Each is a request to Ollama: 20,000 loads
        of names that do not exist were 20,000 requests, and each left a claim that
        SIGTERM then unloaded one by one (23 s)."""
        wait = self.model_rate.hit(sid)
        if wait:
            limit = self.config["MODEL_OPS_PER_MINUTE"]
            raise RateLimited(f"Too many model operations: at most {limit} a minute. Try "
                              f"again in {int(wait) + 1} s.", wait)
        wait = self.peers.model_op(address)
        if wait:
            limit = self.config["MODEL_OPS_PER_ADDRESS"]
            raise RateLimited(f"Too many model operations from this address: at most "
                              f"{limit} a minute for all its browsers. Try again in "
                              f"{int(wait) + 1} s.", wait)

    def replying_with(self, model: str, host: Host | None = None) -> bool:
        """A reply is streaming from `model` (any spelling of it) on `host`."""
        return any(same_model(reply.model, model) and not reply.ending
                   and (host is None or reply.host is host) for reply in self.active.all())
