"""The replies running now, one per browser, and the tabs each browser has open.

Apart from `Reply` because this outlives any one reply: it refuses a second reply for a
browser, lets a reply go on through a reload but not past `--reply-grace` with no tab
open, and runs the one watchdog thread that tells a browser when Ollama goes quiet and
saves every running reply's text in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .pump import BURST_EVENTS, FRAME_BUDGET, Pump

log = logging.getLogger(__name__)

STOPPING_WAIT = 2.0  # seconds a new message waits for a stopping reply to end
WATCHDOG_TICK = 0.25  # seconds between checks for a silent Ollama and partial saves


class Running(Protocol):
    """What the running replies need of a reply (`Reply` is one): never its database."""

    finished: threading.Event

    @property
    def ending(self) -> bool: ...

    def stop(self, reason: str = "stopped") -> None: ...

    def check_silence(self, now: float, limit: float) -> None: ...

    def check_wait(self) -> None: ...

    def unsaved(self) -> tuple[int, str, str] | None: ...


R = TypeVar("R", bound=Running)  # the replies it holds: `get` gives back what `claim` took
PartialRows = list[tuple[int, str, str]]  # (reply id, text, thinking) per reply


class ActiveReplies(Generic[R]):
    """At most one running reply per browser session, and how many tabs each browser has
    open, so a reply outlives a reload but not a browser that is gone for good."""

    def __init__(self, save_partials: Callable[[PartialRows], None], grace: float = 20.0,
                 silence: float = 5.0) -> None:
        self._save_partials = save_partials  # the text so far of every reply, one transaction
        self.grace = grace  # seconds a reply goes on with no tab of its browser open
        self.silence = silence  # seconds without a byte from Ollama before a notice
        self._lock = threading.Lock()
        self._running: dict[str, R | None] = {}  # None: claimed, its reply not built yet
        self._tabs: dict[str, int] = defaultdict(int)
        self._timers: dict[str, threading.Timer] = {}
        self._watchdog: threading.Thread | None = None
        # Relays every reply after its first chunk, from one thread (relay/pump.py).
        self.pump: Pump | None = (Pump(FRAME_BUDGET, BURST_EVENTS) if Pump.available()
                                  else None)

    def claim(self, sid: str) -> bool:
        """Hold this browser's one place for a reply, before its question is stored (so
        a second message refused as busy stores nothing); `begin` fills it, `release`
        gives it back."""
        with self._lock:
            if sid in self._running:
                return False
            self._running[sid] = None
            return True

    def begin(self, sid: str, reply: R) -> None:
        """The reply for the place `claim` held: from now on it is the running one."""
        with self._lock:
            assert sid in self._running and self._running[sid] is None, "begin without claim"
            self._running[sid] = reply
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="reply-watchdog",
                                                  daemon=True)
                self._watchdog.start()
            # Its last tab closed while it was being put together: the grace starts now.
            timer = None if self._tabs.get(sid, 0) > 0 or sid in self._timers else \
                self._grace_timer(sid, reply)
        if timer is not None:
            timer.start()

    def release(self, sid: str, reply: R | None) -> None:
        """Give back the place: that of `reply`, or (None) one claimed and never begun."""
        with self._lock:
            if sid in self._running and self._running[sid] is reply:
                del self._running[sid]
            timer = self._timers.pop(sid, None) if sid not in self._running else None
        if timer is not None:
            timer.cancel()

    def get(self, sid: str) -> R | None:
        with self._lock:
            return self._running.get(sid)

    def all(self) -> list[R]:
        with self._lock:
            return [reply for reply in self._running.values() if reply is not None]

    def settled(self, sid: str, timeout: float = STOPPING_WAIT) -> R | None:
        """The reply still running for this browser once a reply that is ending (stopped,
        or past its last token) has had `timeout` seconds to finish."""
        reply = self.get(sid)
        if reply is not None and reply.ending:
            reply.finished.wait(timeout)
            reply = self.get(sid)
        return reply

    # -- the browser's tabs ---------------------------------------------------------

    def tab_opened(self, sid: str) -> None:
        with self._lock:
            self._tabs[sid] += 1
            timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()  # back within the grace: the reply goes on

    def tab_closed(self, sid: str) -> None:
        """The last tab of a browser gone starts the grace; a stop follows if none returns."""
        with self._lock:
            self._tabs[sid] -= 1
            if self._tabs[sid] > 0:
                return
            del self._tabs[sid]
            reply = self._running.get(sid)
            if reply is None or sid in self._timers:
                return
            timer = self._grace_timer(sid, reply)
        timer.start()

    def _grace_timer(self, sid: str, reply: R) -> threading.Timer:
        """(Called holding the lock.) The stop that follows if no tab comes back."""
        timer = threading.Timer(self.grace, self._abandon, args=(sid, reply))
        timer.daemon = True
        self._timers[sid] = timer
        return timer

    def _abandon(self, sid: str, reply: R) -> None:
        with self._lock:
            self._timers.pop(sid, None)
            if self._tabs.get(sid, 0) > 0:
                return
        reply.stop("abandoned")

    def _watch(self) -> None:
        """Tell the user when Ollama goes quiet mid-reply, and save every reply's text so
        far in one transaction (one thread for all replies: a save per reply and tick
        cost each stream a transaction four times a second)."""
        while True:
            time.sleep(WATCHDOG_TICK)
            with self._lock:
                replies = [reply for reply in self._running.values() if reply is not None]
                if not replies:
                    self._watchdog = None
                    return
            now = time.monotonic()
            for reply in replies:
                reply.check_wait()
            if self.silence > 0:
                for reply in replies:
                    reply.check_silence(now, self.silence)
            rows = [row for row in (reply.unsaved() for reply in replies) if row]
            if rows:
                try:
                    self._save_partials(rows)
                except Exception:  # the next tick tries again; the reply saves at its end
                    log.exception("could not save partial replies")
