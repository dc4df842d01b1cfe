"""Serve the app with gunicorn's threaded worker, for a LAN full of users.

flask-sock runs on gunicorn's `gthread` worker: each open WebSocket holds one thread, so
the thread pool is sized from the socket limit. One worker process only: running replies,
socket counts and model reference counts live in its memory (histories are in SQLite).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import gunicorn.http.wsgi as gunicorn_wsgi
from flask import Flask
from gunicorn.app.base import BaseApplication

from .. import shutdown
from .slow_clients import configure

EXTRA_THREADS = 16  # ordinary page and API requests besides the sockets


class ProductionServer(BaseApplication):
    """`config` is read in the master; the app itself is made by `factory` in the worker,
    after the fork, so no SQLite connection or thread crosses it."""

    def __init__(self, config: Any, factory: Callable[[], Flask],
                 on_ready: Callable[[int | None], None] | None = None) -> None:
        self.config = config
        self.factory = factory
        self.on_ready = on_ready
        self.application: Flask | None = None
        super().__init__()

    def load_config(self) -> None:
        config = self.config
        host = config["HOST"]
        bind = f"[{host}]:{config['PORT']}" if ":" in host else f"{host}:{config['PORT']}"
        threads = config["SOCKETS_TOTAL"] + EXTRA_THREADS
        settings = {
            "bind": bind,
            # gthread, with whole requests collected by the event loop (not a thread)
            # under deadlines, closes that never wait, and a cap on connections per
            # peer address (slow_clients.py).
            "worker_class": configure(config["HEADER_TIMEOUT"], config["BODY_TIMEOUT"],
                                      config["CONNECTIONS_PER_ADDRESS"],
                                      config["PEER_LIMITS_ON_LOOPBACK"],
                                      config["BODY_LIMITS"]),
            "workers": 1,
            "threads": threads,
            # Past the threads, idle kept-alive connections (no thread each); at the
            # limit the oldest of them makes room for a new one.
            "worker_connections": max(config["CONNECTIONS_TOTAL"], threads + EXTRA_THREADS),
            # A WebSocket lives for hours; gunicorn's timeout is about a silent worker,
            # which a gthread worker never is while its main loop runs.
            "timeout": 60,
            "graceful_timeout": 10,
            "keepalive": config["KEEPALIVE_TIMEOUT"],
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "when_ready": self._when_ready,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        self.application = self.factory()
        return self.application

    def _when_ready(self, server: Any) -> None:
        if self.on_ready is not None:
            port = server.LISTENERS[0].getsockname()[1] if server.LISTENERS else None
            self.on_ready(port)

    def _post_worker_init(self, worker: Any) -> None:
        """On SIGTERM close the sockets first: gunicorn's graceful stop waits for every
        open request, and a WebSocket would hold it until the master kills the worker
        (and then nothing would unload the models).

        Every response's `Server` line is gunicorn's module-level SERVER, read as each
        response is made (gunicorn.http.wsgi.Response): our plain name instead."""
        gunicorn_wsgi.SERVER = self.config["SERVER_HEADER"]
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            if self.application is not None:
                self.application.extensions["webchat"].close_sockets()
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGTERM, on_term)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        if self.application is None:
            return
        unloaded = shutdown(self.application)
        if unloaded:
            print(f"Unloaded {', '.join(unloaded)} from Ollama's memory.", flush=True)
