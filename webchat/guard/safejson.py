"""JSON in and out, made safe: what a browser or a file sends is refused with a clear
message when it could break storage or a page later, and what the app sends is always
JSON a browser can parse.

Refused on the way in: NaN and Infinity (not JSON, but Python reads them), numbers too
large for a float (1e400 becomes Infinity), nesting deeper than any real body (Python's
parser would raise RecursionError), and unpaired UTF-16 surrogates ("\\ud800"), which
SQLite cannot store as UTF-8. On the way out a non-finite number becomes null.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64  # an export nests about 6 deep


class UnsafeJson(Exception):
    """JSON this app will not take. Not a ValueError on purpose: Flask's
    `get_json(silent=True)` would turn it into a vaguer "send a JSON object"."""


def _constant(name: str) -> Any:
    raise UnsafeJson(f"JSON: {name} is not a number this app accepts")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJson(f"JSON: the number {text[:24]} is too large")
    return value


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeJson("JSON: the text holds an unpaired surrogate (a broken "
                         "character such as \\ud800), which cannot be stored") from None


def check_value(value: Any) -> None:
    """Walk without recursion: depth and text checked everywhere, keys included."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (list, dict)):
            if depth > MAX_DEPTH:
                raise UnsafeJson(f"JSON: nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


# For a caller that decodes a document piece by piece (webchat/api/imports.py): the same
# refusals as `parse`, which it must follow with `check_value` on each piece.
DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float)


def parse(data: str | bytes | bytearray) -> Any:
    """`json.loads`, refusing what could break storage or a page later."""
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise UnsafeJson(f"JSON: nested more than {MAX_DEPTH} levels deep") from None
    check_value(value)
    return value


def finite(value: Any) -> Any:
    """A copy with every NaN or infinite number replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(child) for key, child in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(child) for child in value]
    return value


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:  # an Infinity stored before imports were checked
            return super().dumps(finite(obj), **kwargs)


def init_app(app: Flask) -> None:
    app.json = SafeJSONProvider(app)
    app.register_error_handler(UnsafeJson, lambda exc: (jsonify(error=str(exc)), 400))
