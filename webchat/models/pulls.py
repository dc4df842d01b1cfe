"""Model downloads (`/api/pull`) run by the server, their progress pushed to every socket.

A pull is server-wide (the model is installed for everyone), so every open page sees its
progress and may cancel it. Cancelling shuts the upstream connection, as Stop does for a
reply; Ollama then stops downloading and keeps the layers it finished.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..ollama.cancellation import Cancellation
from ..ollama.errors import Cancelled, OllamaError
from ..ollama.hosts import Host, Hosts
from ..validation import InvalidInput

MAX_PULLS_AT_ONCE = 2  # each one fills the disk and the network for everyone

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.2  # seconds between progress frames for one pull


class Pull:
    def __init__(self, name: str, host: Host, name_host: bool = False) -> None:
        self.name = name
        self.host = host
        self.where = {"host": host.label} if name_host else {}  # in frames, several hosts
        self.cancel = Cancellation()
        self.status = "starting"
        self.layers: dict[str, dict[str, int]] = {}  # digest -> completed, total

    def progress(self) -> dict[str, Any]:
        completed = sum(layer["completed"] for layer in self.layers.values())
        total = sum(layer["total"] for layer in self.layers.values())
        return {"type": "pull_progress", "model": self.name, **self.where,
                "status": self.status,
                "completed": completed, "total": total,
                "layers": [{"digest": digest, **layer} for digest, layer in self.layers.items()]}


class Pulls:
    def __init__(self, hosts: Hosts, broadcast: Callable[[dict[str, Any]], int],
                 on_end: Callable[[], None]) -> None:
        self.hosts = hosts
        self.broadcast = broadcast
        self.on_end = on_end
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], Pull] = {}  # (host label, model) -> pull

    def running(self) -> list[dict[str, Any]]:
        with self._lock:
            return [pull.progress() for pull in self._running.values()]

    def start(self, name: str, host: Host | None = None) -> bool:
        """Begin downloading onto `host` (by default the first); False when that model is
        already being pulled there."""
        host = host or self.hosts.primary
        with self._lock:
            if (host.label, name) in self._running:
                return False
            if len(self._running) >= MAX_PULLS_AT_ONCE:
                raise InvalidInput(f"model: {len(self._running)} downloads are running, the "
                                   f"most at once; wait for one to finish")
            pull = self._running[host.label, name] = Pull(name, host, self.hosts.several)
        threading.Thread(target=self._run, args=(pull,), name=f"pull-{name[:20]}",
                         daemon=True).start()
        return True

    def cancel(self, name: str, host: Host | None = None) -> bool:
        """Cancel the model's download onto `host`, or onto every host when None."""
        with self._lock:
            pulls = [pull for (label, model), pull in self._running.items()
                     if model == name and (host is None or label == host.label)]
        for pull in pulls:
            pull.cancel.cancel("cancelled")
        return bool(pulls)

    def cancel_all(self) -> None:
        with self._lock:
            pulls = list(self._running.values())
        for pull in pulls:
            pull.cancel.cancel("cancelled")

    def _run(self, pull: Pull) -> None:
        done: dict[str, Any] = {"type": "pull_done", "model": pull.name, **pull.where,
                                "ok": False}
        last_sent = 0.0
        try:
            self.broadcast(pull.progress())
            for line in pull.host.client.pull(pull.name, pull.cancel):
                status = str(line.get("status") or pull.status)
                changed = status != pull.status
                pull.status = status
                digest = line.get("digest")
                if isinstance(digest, str) and isinstance(line.get("total"), int):
                    pull.layers[digest] = {"completed": int(line.get("completed") or 0),
                                           "total": int(line["total"])}
                now = time.monotonic()
                if changed or now - last_sent >= PROGRESS_INTERVAL:
                    last_sent = now
                    self.broadcast(pull.progress())
            done["ok"] = pull.status == "success"
            if not done["ok"]:
                done["error"] = f"The download ended without success ({pull.status})"
        except Cancelled:
            done |= {"cancelled": True, "error": "Download cancelled"}
        except OllamaError as exc:
            done["error"] = str(exc)
        except Exception:
            log.exception("pull failed")
            done["error"] = "The server hit an internal error; see its log"
        finally:
            with self._lock:
                self._running.pop((pull.host.label, pull.name), None)
            pull.host.forget()
        self.broadcast(pull.progress())
        self.broadcast(done)
        self.on_end()
