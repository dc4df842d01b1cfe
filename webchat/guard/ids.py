"""Ids in URLs: ASCII digits within SQLite's integer range, or the route does not match.

Werkzeug's `int` converter reads any Unicode digit ("٣" is 3) and any length, and a
number past 2**63 - 1 makes SQLite raise OverflowError: a 500 instead of a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

SQLITE_MAX_INT = 2**63 - 1


def parse_id(text: str) -> int | None:
    """The id a query parameter names, or None when it cannot be one."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= SQLITE_MAX_INT else None


def is_id(value: Any) -> bool:
    """An id as a JSON frame gives it: an int (not a bool) in SQLite's range."""
    return isinstance(value, int) and not isinstance(value, bool) and \
        0 < value <= SQLITE_MAX_INT


class SafeIntConverter(IntegerConverter):
    regex = r"[0-9]{1,19}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", SQLITE_MAX_INT)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any blueprint: routes read the converter table when they are added."""
    app.url_map.converters["int"] = SafeIntConverter
