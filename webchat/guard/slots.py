"""How many of one heavy kind of request may run at once: per browser, per address, in all.

An import holds its whole file in memory while it is checked and written: four concurrent
32 MB imports took the server to 430 MB and sixteen all ran at once (1.09 GB). A request
past a cap is refused at once with what it waits for, before its body is read.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """Too many of these are running; the message says which cap and what to do."""


class Slots:
    def __init__(self, what: str, per_browser: int, per_address: int, total: int) -> None:
        self.what = what  # "imports": named in the refusals
        self.per_browser = per_browser
        self.per_address = per_address
        self.total = total
        self._lock = threading.Lock()
        self._browsers: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self._running = 0

    @contextmanager
    def hold(self, browser: str, address: str, address_exempt: bool = False
             ) -> Iterator[None]:
        """Run the block in a slot, or raise Busy. `address_exempt`: the address cap does
        not apply (loopback, unless --limit-loopback)."""
        with self._lock:
            if self._browsers[browser] >= self.per_browser:
                raise Busy(f"This browser already has {self._browsers[browser]} {self.what} "
                           f"running (at most {self.per_browser} at once); wait for it to "
                           "finish.")
            if not address_exempt and self._addresses[address] >= self.per_address:
                raise Busy(f"This address already has {self._addresses[address]} "
                           f"{self.what} running (at most {self.per_address} at once); "
                           "try again when one has finished.")
            if self._running >= self.total:
                raise Busy(f"The server is running {self._running} {self.what} already "
                           f"(at most {self.total} at once); try again in a moment.")
            self._browsers[browser] += 1
            self._addresses[address] += 1
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._browsers[browser] -= 1
                self._addresses[address] -= 1
                self._running -= 1
                self._browsers += Counter()  # drop the zeros
                self._addresses += Counter()

    def running(self) -> int:
        with self._lock:
            return self._running
