"""Versions of messages: a conversation is a tree, and one path through it is in view.

Editing a message or regenerating a reply adds a sibling (same `parent_id`) instead of
overwriting, so nothing said is lost. Each conversation remembers its active leaf
(`conversations.leaf_id`); the path from the root to that leaf is what the page shows,
what the context window is cut from and what the Markdown export holds. A message's
children are always newer than it (ids only grow), so the newest message under any
message is a leaf: that is where switching to a version lands.

Subtrees are found here, walking `parent_id`, rather than by a foreign-key cascade:
SQLite runs cascades as nested triggers, and a chain of thousands of messages would
pass its trigger depth limit.

Every function takes an open connection (`Database.transaction()` or `reading()`), so
a caller can read and change the tree in one step.
"""

from __future__ import annotations

import sqlite3
from typing import Any

Connection = sqlite3.Connection

# The active leaf; a missing or stale one falls back to the newest message.
_LEAF = """SELECT COALESCE(
    (SELECT m.id FROM messages AS m WHERE m.id = c.leaf_id AND m.conversation_id = c.id),
    (SELECT max(m.id) FROM messages AS m WHERE m.conversation_id = c.id)) AS leaf
FROM conversations AS c WHERE c.id = ?"""

# The ancestors of a message, itself included (as `up(id, parent)`).
_UP = """WITH RECURSIVE up(id, parent) AS (
    SELECT id, parent_id FROM messages WHERE id = ?
    UNION ALL SELECT m.id, m.parent_id FROM messages AS m JOIN up ON m.id = up.parent)"""

# A message and everything below it (as `down(id)`).
_DOWN = """WITH RECURSIVE down(id) AS (
    SELECT id FROM messages WHERE id = ?
    UNION ALL SELECT m.id FROM messages AS m JOIN down ON m.parent_id = down.id)"""


def leaf(conn: Connection, cid: int) -> int | None:
    """The last message of the path in view (None for an empty conversation)."""
    row = conn.execute(_LEAF, (cid,)).fetchone()
    return int(row["leaf"]) if row is not None and row["leaf"] is not None else None


def set_leaf(conn: Connection, cid: int, message_id: int | None) -> None:
    conn.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (message_id, cid))


def forks(conn: Connection, cid: int) -> dict[int | None, list[int]]:
    """The messages that have versions: each parent (None for the first messages) with
    more than one child, and those children's ids, oldest first. Read from an index."""
    return {row["parent_id"]: sorted(int(i) for i in row["ids"].split(","))
            for row in conn.execute(
                "SELECT parent_id, group_concat(id) AS ids FROM messages WHERE "
                "conversation_id = ? GROUP BY parent_id HAVING count(*) > 1", (cid,))}


def _is_chain(conn: Connection, cid: int, end: int,
              found: dict[int | None, list[int]]) -> bool:
    """No versions, and the newest message in view: the path is every message, which
    the plain index reads faster than a walk (about 2 µs a message)."""
    if found:
        return False
    row = conn.execute("SELECT max(id) AS id FROM messages WHERE conversation_id = ?",
                       (cid,)).fetchone()
    return row["id"] == end


def path_rows(conn: Connection, cid: int, columns: str,
              found: dict[int | None, list[int]] | None = None) -> list[sqlite3.Row]:
    """The path in view, root first, as rows of `columns` (which include `id`)."""
    end = leaf(conn, cid)
    if end is None:
        return []
    if _is_chain(conn, cid, end, forks(conn, cid) if found is None else found):
        return conn.execute(f"SELECT {columns} FROM messages WHERE conversation_id = ? "
                            "ORDER BY id", (cid,)).fetchall()
    return conn.execute(f"{_UP} SELECT {columns} FROM messages WHERE id IN "
                        "(SELECT id FROM up) ORDER BY id", (end,)).fetchall()


def path_with_versions(conn: Connection, cid: int, columns: str
                       ) -> tuple[list[sqlite3.Row], dict[int, dict[str, Any]]]:
    """The path in view, and for each of its messages that has siblings: `{"index": n
    (from 1), "count", "ids"}`, the versions oldest first."""
    found = forks(conn, cid)
    rows = path_rows(conn, cid, columns, found)
    on_path = {int(row["id"]) for row in rows}
    versions = {}
    for ids in found.values():
        for index, message_id in enumerate(ids, 1):
            if message_id in on_path:
                versions[message_id] = {"index": index, "count": len(ids), "ids": ids}
    return rows, versions


def window_rows(conn: Connection, cid: int, columns: str, in_context: str,
                limit: int) -> list[sqlite3.Row]:
    """The last `limit` messages of the path that match `in_context`, oldest first.

    The walk up from the leaf stops once it has seen `limit` of them, so the cost
    follows the window, not the length of the conversation."""
    end = leaf(conn, cid)
    if end is None or limit <= 0:
        return []
    rows = conn.execute(
        f"""WITH RECURSIVE up(id, parent, seen) AS (
            SELECT id, parent_id, {in_context} FROM messages WHERE id = ?
            UNION ALL SELECT m.id, m.parent_id, up.seen + {in_context}
            FROM messages AS m JOIN up ON m.id = up.parent WHERE up.seen < ?)
        SELECT {columns} FROM messages WHERE id IN (SELECT id FROM up) AND {in_context}
        ORDER BY id DESC LIMIT ?""", (end, limit, limit)).fetchall()
    return rows[::-1]


def on_path(conn: Connection, cid: int, message_id: int) -> bool:
    """Whether `message_id` is on the path in view."""
    end = leaf(conn, cid)
    return end is not None and conn.execute(
        f"{_UP} SELECT 1 FROM up WHERE id = ?", (end, message_id)).fetchone() is not None


def count_above(conn: Connection, cid: int, message_id: int, where: str) -> int:
    """How many messages above `message_id` on the path in view match `where`."""
    end = leaf(conn, cid)
    if end is not None and _is_chain(conn, cid, end, forks(conn, cid)):
        row = conn.execute(f"SELECT count(*) AS n FROM messages WHERE conversation_id = ? "
                           f"AND id < ? AND {where}", (cid, message_id)).fetchone()
    else:
        row = conn.execute(f"{_UP} SELECT count(*) AS n FROM messages WHERE id IN "
                           f"(SELECT parent FROM up) AND {where}", (message_id,)).fetchone()
    return int(row["n"])


def newest_below(conn: Connection, message_id: int) -> int:
    """The newest message under `message_id` (itself when it has none): always a leaf."""
    row = conn.execute(f"{_DOWN} SELECT max(id) AS id FROM down", (message_id,)).fetchone()
    return int(row["id"]) if row["id"] is not None else message_id


def siblings(conn: Connection, cid: int, parent_id: int | None) -> list[int]:
    """The messages under `parent_id` (None: the conversation's first messages)."""
    return [int(row["id"]) for row in conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
        (cid, parent_id))]


def subtree(conn: Connection, message_id: int) -> list[int]:
    """A message and everything below it, oldest first."""
    return [int(row["id"]) for row in conn.execute(
        f"{_DOWN} SELECT id FROM down ORDER BY id", (message_id,))]


def land_after_removal(conn: Connection, cid: int, parent_id: int | None) -> None:
    """After a version under `parent_id` went away: show the newest one left there, or
    end the path at `parent_id` when none is left."""
    left = siblings(conn, cid, parent_id)
    set_leaf(conn, cid, newest_below(conn, left[-1]) if left else parent_id)
