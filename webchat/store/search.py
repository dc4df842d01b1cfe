"""Full-text search over one browser's messages (SQLite FTS5, index kept by store/database.py).

The user's text is never FTS5 syntax: it is cut into words and each word becomes a quoted
FTS5 string, so quotes, `*`, `NEAR(`, a trailing `OR` or SQL-looking text are just words.
Snippets come back as plain text plus the offsets of each match, never as HTML: the page
builds text nodes and <mark> elements from them.
"""

from __future__ import annotations

import re
from typing import Any

from .database import Database

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
MAX_HITS = 50
SNIPPET_TOKENS = 16
# Private-use characters mark the match in FTS5's snippet(); they are cut out again below.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"\w+")


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query ("" when there is nothing to look for).

    Every word must appear (AND); the last one may be the start of a word, so results
    follow the typing."""
    words = _WORD.findall(text[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]  # \\w never holds a double quote
    quoted[-1] += "*"
    return " ".join(quoted)


def _utf16_len(text: str) -> int:
    """Length as JavaScript counts it, so the page can slice at the offsets it gets."""
    return len(text.encode("utf-16-le")) // 2


def split_snippet(marked: str) -> tuple[str, list[list[int]]]:
    """FTS5's snippet with markers -> the plain text and [start, end) of each match,
    in UTF-16 code units (JavaScript string offsets)."""
    text: list[str] = []
    marks: list[list[int]] = []
    length = 0
    start = None
    for part in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if part == _OPEN:
            start = length
        elif part == _CLOSE:
            if start is not None and length > start:
                marks.append([start, length])
            start = None
        elif part:
            text.append(part)
            length += _utf16_len(part)
    return "".join(text), marks


def search_messages(db: Database, sid: str, text: str, limit: int = MAX_HITS
                    ) -> list[dict[str, Any]]:
    """The best matches among this browser's messages in conversations not deleted."""
    query = fts_query(text)
    if not query:
        return []
    rows = db.query(
        "SELECT m.id, m.conversation_id, m.role, m.created_at, c.title, "
        f"snippet(message_search, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS}) AS snippet "
        "FROM message_search JOIN messages AS m ON m.id = message_search.rowid "
        "JOIN conversations AS c ON c.id = m.conversation_id "
        "WHERE message_search MATCH ? AND m.session_id = ? AND c.session_id = ? "
        "AND c.deleted_at IS NULL ORDER BY rank, m.id DESC LIMIT ?",
        (query, sid, sid, limit))
    hits = []
    for row in rows:
        snippet, marks = split_snippet(row["snippet"] or "")
        hits.append({"conversation": row["conversation_id"], "title": row["title"],
                     "message": row["id"], "role": row["role"],
                     "created_at": row["created_at"], "snippet": snippet, "marks": marks})
    return hits
