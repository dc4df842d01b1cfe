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

SCHEMA_VERSION = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    system_prompt TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    thinking TEXT NOT NULL DEFAULT '',
    -- user: pending | ok | failed; assistant: streaming | ok | stopped | error | interrupted
    status TEXT NOT NULL,
    error TEXT,
    model TEXT,
    endpoint TEXT,
    stats TEXT,
    request TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_session ON messages (session_id, id);
"""

# Version 2: several conversations per browser, each with its own system prompt and
# settings; images uploaded over HTTP and referenced by the messages that carry them.
# A version-1 browser's messages and system prompt become its one conversation.
MIGRATE_TO_2 = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    title TEXT NOT NULL DEFAULT '',
    system_prompt TEXT,
    settings TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE INDEX conversations_by_session ON conversations (session_id, updated_at);
ALTER TABLE messages ADD COLUMN conversation_id INTEGER
    REFERENCES conversations(id) ON DELETE CASCADE;
ALTER TABLE messages ADD COLUMN images TEXT;
INSERT INTO conversations (session_id, title, system_prompt, created_at, updated_at)
SELECT s.id,
       COALESCE((SELECT substr(trim(replace(m.content, char(10), ' ')), 1, 60)
                 FROM messages AS m WHERE m.session_id = s.id AND m.role = 'user'
                 ORDER BY m.id LIMIT 1), ''),
       s.system_prompt, s.created_at,
       COALESCE((SELECT max(m.created_at) FROM messages AS m WHERE m.session_id = s.id),
                s.created_at)
FROM sessions AS s
WHERE s.system_prompt IS NOT NULL
   OR EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = s.id);
UPDATE messages SET conversation_id =
    (SELECT c.id FROM conversations AS c WHERE c.session_id = messages.session_id);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    mime TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX uploads_by_session ON uploads (session_id, created_at);
"""

# Version 3: full-text search over every stored message (webchat/store/search.py). The index
# reads its text from `messages` (external content) and triggers keep it in step with
# every insert, edit and delete, cascades included; "rebuild" indexes what is there.
MIGRATE_TO_3 = """
CREATE VIRTUAL TABLE message_search USING fts5(
    content, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, content)
    VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, content)
    VALUES ('delete', old.id, old.content);
    INSERT INTO message_search (rowid, content) VALUES (new.id, new.content);
END;
INSERT INTO message_search (message_search) VALUES ('rebuild');
"""

# Version 4: versions of messages (webchat/store/branches.py). Each message names the one it
# follows (`parent_id`, NULL for a first message); an edit or a regenerated reply is a
# sibling. `leaf_id` is the last message of the path in view. A linear history becomes
# a chain, each message under the one before it.
MIGRATE_TO_4 = """
ALTER TABLE messages ADD COLUMN parent_id INTEGER;
ALTER TABLE conversations ADD COLUMN leaf_id INTEGER;
UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages AS p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id);
CREATE INDEX messages_by_parent ON messages (parent_id);
CREATE INDEX messages_by_fork ON messages (conversation_id, parent_id);
"""

# Version 5: a reply is indexed for search once it is no longer streaming. Its partial
# text is saved four times a second while it streams (relay/reply.py); re-indexing the whole
# growing text at each save cost about 0.3 ms a time, the largest share of the app's CPU
# per relayed token with a hundred streams (bench/two_hosts.py). The index is rebuilt from
# the rows that are not streaming, so it holds exactly what the triggers expect.
MIGRATE_TO_5 = """
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_delete;
DROP TRIGGER message_search_update;
CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.status != 'streaming' BEGIN
    INSERT INTO message_search (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN old.status != 'streaming' BEGIN
    INSERT INTO message_search (message_search, rowid, content)
    VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF content, status ON messages
WHEN old.status != 'streaming' OR new.status != 'streaming' BEGIN
    INSERT INTO message_search (message_search, rowid, content)
    SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
    INSERT INTO message_search (rowid, content)
    SELECT new.id, new.content WHERE new.status != 'streaming';
END;
INSERT INTO message_search (message_search) VALUES ('delete-all');
INSERT INTO message_search (rowid, content)
    SELECT id, content FROM messages WHERE status != 'streaming';
"""

# Version 6: what each browser keeps stored, in bytes (webchat/store/quotas.py): its
# messages' text, thinking and stored requests, and its images. Triggers keep the sum,
# cascades included; like the search index it counts a reply once it stops streaming,
# so the four partial saves a second of every stream (relay/reply.py) cost nothing here.
_MESSAGE_BYTES = ("(length(CAST({row}.content AS BLOB)) + length(CAST({row}.thinking AS BLOB))"
                  " + coalesce(length(CAST({row}.request AS BLOB)), 0))")
MIGRATE_TO_6 = f"""
ALTER TABLE sessions ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER stored_bytes_message_insert AFTER INSERT ON messages
WHEN new.status != 'streaming' BEGIN
    UPDATE sessions SET stored_bytes = stored_bytes + {_MESSAGE_BYTES.format(row='new')}
    WHERE id = new.session_id;
END;
CREATE TRIGGER stored_bytes_message_delete AFTER DELETE ON messages
WHEN old.status != 'streaming' BEGIN
    UPDATE sessions SET stored_bytes = stored_bytes - {_MESSAGE_BYTES.format(row='old')}
    WHERE id = old.session_id;
END;
CREATE TRIGGER stored_bytes_message_update AFTER UPDATE OF content, thinking, request, status
ON messages WHEN old.status != 'streaming' OR new.status != 'streaming' BEGIN
    UPDATE sessions SET stored_bytes = stored_bytes
        - CASE WHEN old.status != 'streaming' THEN {_MESSAGE_BYTES.format(row='old')} ELSE 0 END
        + CASE WHEN new.status != 'streaming' THEN {_MESSAGE_BYTES.format(row='new')} ELSE 0 END
    WHERE id = new.session_id;
END;
CREATE TRIGGER stored_bytes_upload_insert AFTER INSERT ON uploads BEGIN
    UPDATE sessions SET stored_bytes = stored_bytes + length(new.data)
    WHERE id = new.session_id;
END;
CREATE TRIGGER stored_bytes_upload_delete AFTER DELETE ON uploads BEGIN
    UPDATE sessions SET stored_bytes = stored_bytes - length(old.data)
    WHERE id = old.session_id;
END;
UPDATE sessions SET stored_bytes =
    (SELECT coalesce(sum({_MESSAGE_BYTES.format(row='m')}), 0) FROM messages AS m
     WHERE m.session_id = sessions.id AND m.status != 'streaming')
    + (SELECT coalesce(sum(length(u.data)), 0) FROM uploads AS u
       WHERE u.session_id = sessions.id);
"""

# Version 7: the context window is counted in tokens (webchat/store/context_fit.py). Ollama
# has no tokenize endpoint, so what each message costs in a prompt is learned from the
# `prompt_eval_count` of the replies, per model (a model's template and tokenizer decide
# it), and kept here: per message, the part of each conversation's prompts that is not a
# message (system prompt and template, for the system prompt it was measured with), and
# per model the characters per token measured so far, to estimate text not yet read.
MIGRATE_TO_7 = """
CREATE TABLE message_tokens (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (message_id, model)
) WITHOUT ROWID;
CREATE TABLE prompt_tokens (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, model)
) WITHOUT ROWID;
CREATE TABLE token_rates (
    model TEXT PRIMARY KEY,
    chars INTEGER NOT NULL,
    tokens INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Version 8: messages kept aside for Undo (`Aside`, webchat/store/conversations.py): a
# holding row of `conversations`, soft-deleted, names the conversation its messages came
# from.
MIGRATE_TO_8 = """
ALTER TABLE conversations ADD COLUMN aside_of INTEGER;
"""

MIGRATIONS = {2: MIGRATE_TO_2, 3: MIGRATE_TO_3, 4: MIGRATE_TO_4, 5: MIGRATE_TO_5,
              6: MIGRATE_TO_6, 7: MIGRATE_TO_7, 8: MIGRATE_TO_8}


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
