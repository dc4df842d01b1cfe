"""The tables of the SQLite file and the steps that bring an older file up to date.

Each step is the SQL of one schema version, applied in one transaction by
`Database._migrate` (store/database.py); the comment above a step says what that version
added and why. Imports nothing of the package.
"""

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

# Version 6: what each browser keeps stored, in bytes (webchat/store/retention.py): its
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
