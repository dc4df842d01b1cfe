"""Full-text search over one browser's messages (SQLite FTS5, index kept by store/database.py).

The user's text is never FTS5 syntax: it is cut into words and each word becomes a quoted
FTS5 string, so quotes, `*`, `NEAR(`, a trailing `OR` or SQL-looking text are just words.
Snippets come back as plain text plus the offsets of each match, never as HTML: the page
builds text nodes and <mark> elements from them.

Each search's work is bounded, so one browser's search cannot hold a core (or, before the
read pool in store/database.py, everyone) for seconds. On 50k messages a one-letter prefix
(`a*`) took 1–17 s: FTS5 merges the posting lists of every word starting with it, then
ranks every match. So a prefix needs MIN_PREFIX_CHARS, only the newest RANKED_MATCHES
matches of the browser are ranked, and a walk over them still running after
SEARCH_SECONDS is interrupted and ranks what it found so far (then snippets get
SNIPPET_SECONDS). `Found.cut` says when any
of these left matches out (bench/search_load.py has the figures).

Every word is the start of a word ("zebra" finds "zebras"), and a match where more of the
words are whole words ranks first ("fact 12" finds "Fact 12" before "Fact 128"): one
look per word at its own posting list, over the rowids the matches span, within what is
left of SEARCH_SECONDS; when none is left, or the look is interrupted, the matches keep
FTS5's bm25 order alone. Common short words as prefixes cost more ("the wor" as
`the* wor*` on 50k messages found nothing in 0.2 s at load 11 on 2 cores, where `the
wor*` found 50 in about 100 ms): the every-word query gets half the time, and when it
found nothing in it, the query with only the last word a prefix gets the rest (then
median 199 ms, 50 hits; /tmp timing of search() on bench/search_load.py's data).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .database import Database

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
MAX_HITS = 50
MIN_PREFIX_CHARS = 2  # a word of one letter is a word, not the start of every word
RANKED_MATCHES = 1000  # ranking 50k matches took 1 s; the newest 1,000: under 30 ms
SEARCH_SECONDS = 0.2  # then the walk over the matches stops where it is
SNIPPET_SECONDS = 0.1  # making the snippets of the best (FTS5 finds the matches again)
SNIPPET_TOKENS = 16
# Private-use characters mark the match in FTS5's snippet(); they are cut out again below.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"\w+")


def query_words(text: str) -> list[str]:
    """The words looked for: at most MAX_QUERY_WORDS, from the first MAX_QUERY_CHARS."""
    return _WORD.findall(text[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]


def fts_query(text: str, last_only: bool = False) -> str:
    """The user's words as an FTS5 query ("" when there is nothing to look for).

    Every word must appear (AND), each as the start of a word (so "zebra" finds
    "zebras", and results follow the typing), except a word of one letter, which stays
    a whole word (the bound above). `last_only`: only the last word is a prefix (the
    narrower query `search` falls back to)."""
    words = query_words(text)
    return " ".join(f'"{word}"*' if _prefixed(word) and (not last_only or i == len(words) - 1)
                    else f'"{word}"' for i, word in enumerate(words))  # \\w: no quote


def _prefixed(word: str) -> bool:
    return len(word) >= MIN_PREFIX_CHARS


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


@dataclass
class Found:
    hits: list[dict[str, Any]] = field(default_factory=list)
    cut: bool = False  # matches were left out: only the newest were ranked, or time ran out


# This browser's matches, newest first: FTS5 walks them in rowid order without sorting,
# so the first RANKED_MATCHES come at once and an interrupted walk keeps what it found.
# bm25() is what `ORDER BY rank` sorts by.
_MATCHES = ("SELECT m.id, bm25(message_search) AS score "
            "FROM message_search JOIN messages AS m ON m.id = message_search.rowid "
            "JOIN conversations AS c ON c.id = m.conversation_id "
            "WHERE message_search MATCH ? AND m.session_id = ? AND c.session_id = ? "
            "AND c.deleted_at IS NULL ORDER BY message_search.rowid DESC LIMIT ?")


def search(db: Database, sid: str, text: str, limit: int = MAX_HITS) -> Found:
    """The best matches among this browser's messages in conversations not deleted,
    within a bounded amount of work."""
    query, narrow = fts_query(text), fts_query(text, last_only=True)
    if not query:
        return Found()
    started = time.monotonic()
    with db.reading() as conn:
        if narrow == query:
            scores, cut = _walk(conn, query, sid, SEARCH_SECONDS)
        else:
            # Common short words as prefixes ("the wor": the*, an*) can take the whole
            # budget before the first match: half of it, then the narrower query (only
            # the last word a prefix, as before) in what is left.
            scores, cut = _walk(conn, query, sid, SEARCH_SECONDS / 2)
            if cut and not scores:
                query = narrow
                scores, cut = _walk(conn, query, sid,
                                    SEARCH_SECONDS - (time.monotonic() - started))
        if len(scores) > RANKED_MATCHES:
            scores.pop()
            cut = True
        left = SEARCH_SECONDS - (time.monotonic() - started)
        whole = _whole_words(conn, query_words(text), [-n for _, n in scores], left)
        ranked = sorted(scores, key=lambda s: (-whole.get(-s[1], 0), s[0], s[1]))
        best = [-negative for _, negative in ranked[:limit]]
        return Found(_hits(conn, query, best), cut)


def _walk(conn: sqlite3.Connection, query: str, sid: str,
          seconds: float) -> tuple[list[tuple[float, int]], bool]:
    """(bm25, -id) of the browser's newest matches, and whether time ran out."""
    scores: list[tuple[float, int]] = []
    try:
        with _time_limit(conn, max(seconds, 0.0)):
            for row in conn.execute(_MATCHES, (query, sid, sid, RANKED_MATCHES + 1)):
                scores.append((row["score"], -row["id"]))
    except sqlite3.OperationalError as exc:
        if not _interrupted(exc):
            raise
        return scores, True
    return scores, False


_WHOLE_WORD = ("SELECT rowid FROM message_search WHERE message_search MATCH ? "
               "AND rowid BETWEEN ? AND ?")


def _whole_words(conn: sqlite3.Connection, words: list[str], ids: list[int],
                 seconds: float) -> dict[int, int]:
    """For each matched message, how many of the prefixed words it holds as whole words
    (empty when there is no time left, or it ran out: bm25 alone then ranks)."""
    prefixed = list(dict.fromkeys(w.lower() for w in words if _prefixed(w)))
    if not ids or not prefixed or seconds <= 0:
        return {}
    counts = dict.fromkeys(ids, 0)
    try:
        with _time_limit(conn, seconds):
            for word in prefixed:
                for (rowid,) in conn.execute(_WHOLE_WORD, (f'"{word}"', min(ids), max(ids))):
                    if rowid in counts:
                        counts[rowid] += 1
    except sqlite3.OperationalError as exc:
        if not _interrupted(exc):
            raise
        return {}
    return counts


def _hits(conn: sqlite3.Connection, query: str, ids: list[int]) -> list[dict[str, Any]]:
    """The chosen messages with their snippets, best first. A snippet is made only for
    them, in one walk over the rowids they span; past SNIPPET_SECONDS each gets its
    message's first words instead, unmarked."""
    if not ids:
        return []
    wanted = ",".join(str(i) for i in ids)  # integers from the index, not user text
    columns = "m.id, m.conversation_id, m.role, m.created_at, c.title"
    joined = ("JOIN conversations AS c ON c.id = m.conversation_id "
              f"WHERE m.id IN ({wanted})")
    try:
        with _time_limit(conn, SNIPPET_SECONDS):
            rows = conn.execute(
                f"SELECT {columns}, snippet(message_search, 0, '{_OPEN}', '{_CLOSE}', '…', "
                f"{SNIPPET_TOKENS}) AS snippet FROM message_search JOIN messages AS m ON "
                f"m.id = message_search.rowid {joined} AND message_search MATCH ? AND "
                "message_search.rowid BETWEEN ? AND ?", (query, min(ids), max(ids))).fetchall()
    except sqlite3.OperationalError as exc:
        if not _interrupted(exc):
            raise
        rows = conn.execute(f"SELECT {columns}, substr(m.content, 1, {SNIPPET_TOKENS * 8}) "
                            f"AS snippet FROM messages AS m {joined}").fetchall()
    found = {row["id"]: row for row in rows}
    return [_hit(found[i]) for i in ids if i in found]


def _interrupted(exc: sqlite3.OperationalError) -> bool:
    """Whether the time limit stopped it: an interrupt that comes while FTS5 opens its
    table on a fresh connection reads "vtable constructor failed"."""
    return any(sign in str(exc) for sign in ("interrupted", "vtable constructor failed"))


@contextmanager
def _time_limit(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt what `conn` runs after `seconds` (sqlite3.OperationalError "interrupted").

    From a timer thread rather than a progress handler: a handler runs Python, and so
    takes the GIL, every N steps of the search, waiting behind every busy thread."""
    lock = threading.Lock()
    running = [True]

    def interrupt() -> None:
        with lock:  # never once the block is over: the connection may serve another read
            if running[0]:
                conn.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            running[0] = False
        timer.cancel()


def _hit(row: Any) -> dict[str, Any]:
    snippet, marks = split_snippet(row["snippet"] or "")
    return {"conversation": row["conversation_id"], "title": row["title"],
            "message": row["id"], "role": row["role"], "created_at": row["created_at"],
            "snippet": snippet, "marks": marks}


def search_messages(db: Database, sid: str, text: str, limit: int = MAX_HITS
                    ) -> list[dict[str, Any]]:
    """`search`'s hits alone."""
    return search(db, sid, text, limit).hits
