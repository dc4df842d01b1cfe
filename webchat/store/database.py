"""The SQLite file in the instance folder that keeps every browser's history.

One connection shared by all threads behind a lock: writes are a handful per reply (never
per streamed chunk), so a lock costs nothing and spares us SQLite's "database is locked".
WAL mode and one transaction per change mean a killed server loses nothing it acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 5

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

MIGRATIONS = {2: MIGRATE_TO_2, 3: MIGRATE_TO_3, 4: MIGRATE_TO_4, 5: MIGRATE_TO_5}


class Database:
    """Owns the connection; `transaction()` is the only way in."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False,
                                     isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring an older file up to SCHEMA_VERSION, in one transaction per step."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):  # 0 and 1: same tables
            # executescript commits first; BEGIN/COMMIT make the step all or nothing.
            try:
                self._conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[step]} "
                                         f"PRAGMA user_version={step}; COMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for several reads that must agree (no write can come between)."""
        with self._lock:
            yield self._conn

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def add_session(self, sid: str) -> None:
        """A browser's row, written when it first stores something; twice is fine."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)",
                         (sid, time.time()))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
