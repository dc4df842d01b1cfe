"""The SQLite file in the instance folder that keeps every browser's history.

Writes go through one connection, one transaction at a time (`transaction()`): they are a
handful per reply (never per streamed chunk), so serialising them costs little and spares
us SQLite's "database is locked". Reads take a connection of their own from a small pool
(`reading()`, `query()`): in WAL mode a reader sees the last commit and waits for no one,
neither other readers nor the writer. With one connection behind one lock for both, one
browser's search of 50k messages (1–17 s) or a 32 MB import (40 s under --production)
held every other browser's request as long (bench/search_load.py).
WAL mode and one transaction per change mean a killed server loses nothing it acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION


class WriterTurns:
    """Who writes next: waiters in the order they came, a bulk writer (an import's next
    batch) only when no one else waits. A plain Lock lets the thread that releases it
    take it straight back: an import writing batch after batch kept another browser's
    one-row write waiting for several of them, and a chat makes four such writes."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._bulk: deque[threading.Lock] = deque()
        self._held = False

    @contextmanager
    def turn(self, bulk: bool = False) -> Iterator[None]:
        with self._mutex:
            if self._held:
                mine = threading.Lock()
                mine.acquire()
                (self._bulk if bulk else self._waiters).append(mine)
            else:
                self._held = True
                mine = None
        if mine is not None:
            mine.acquire()  # released by the writer before us: the turn is ours now
        try:
            yield
        finally:
            with self._mutex:
                if self._waiters:
                    self._waiters.popleft().release()  # handed over, still held
                elif self._bulk:
                    self._bulk.popleft().release()
                else:
                    self._held = False


MAX_READERS = 16  # read connections open at once; a read beyond waits for one
IDLE_READERS = 4  # kept open between requests (opening one costs about 0.2 ms)


class Database:
    """Owns the connections; `transaction()` is the only way to write, `reading()` and
    `query()` the ways to read.

    A thread inside `transaction()` reads through the writer's own connection, so it
    sees what it has written so far and never waits on itself."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._turns = WriterTurns()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.execute("PRAGMA synchronous=NORMAL")
        self._writer.executescript(SCHEMA)
        self._migrate()
        self._writing = threading.local()  # .conn while this thread is in a transaction
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._reader_slots = threading.BoundedSemaphore(MAX_READERS)
        self._closed = False

    @property
    def idle_readers(self) -> int:
        """Read connections kept open for the next read (at most IDLE_READERS): each holds
        the database file and its WAL open, as a pooled HTTP connection holds a socket."""
        with self._pool_lock:
            return len(self._idle)

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: a pooled reader serves one thread at a time, but not
        # always the same one (gunicorn's and werkzeug's threads come and go).
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                               timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _migrate(self) -> None:
        """Bring an older file up to SCHEMA_VERSION, in one transaction per step."""
        conn = self._writer
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):  # 0 and 1: same tables
            # executescript commits first; BEGIN/COMMIT make the step all or nothing.
            try:
                conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[step]} "
                                   f"PRAGMA user_version={step}; COMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self, bulk: bool = False) -> Iterator[sqlite3.Connection]:
        """The writer, for one all-or-nothing change; other writers wait their turn.
        `bulk`: one of many (an import's batches), which lets every other writer go first."""
        if getattr(self._writing, "conn", None) is not None:  # would wait on itself
            raise RuntimeError("A transaction cannot start inside another")
        with self._turns.turn(bulk):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            self._writing.conn = conn
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._writing.conn = None

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for several reads that must agree: one snapshot for all of them,
        whatever is committed meanwhile."""
        own = getattr(self._writing, "conn", None)
        if own is not None:
            yield own
            return
        with self._reader() as conn:
            conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
            try:
                yield conn
            finally:
                if conn.in_transaction:  # (an interrupted read has already ended it)
                    conn.execute("ROLLBACK")  # nothing to keep: it only read

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        own = getattr(self._writing, "conn", None)
        if own is not None:
            return own.execute(sql, params).fetchall()
        with self._reader() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """An idle read connection from the pool, or a new one (at most MAX_READERS)."""
        with self._reader_slots:
            with self._pool_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            finally:
                if conn.in_transaction:  # a read interrupted halfway
                    conn.execute("ROLLBACK")
                with self._pool_lock:
                    keep = not self._closed and len(self._idle) < IDLE_READERS
                    if keep:
                        self._idle.append(conn)
                if not keep:
                    conn.close()

    def add_session(self, sid: str) -> None:
        """A browser's row, written when it first stores something; twice is fine."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                         (sid, time.time()))

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._turns.turn():
            self._writer.close()
