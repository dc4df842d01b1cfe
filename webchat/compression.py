"""Gzip for the page's own text files (scripts, styles, the manifest, the SVG icon).

Our ES modules are written to be read (comments, one concern a file), and there is no
build step to minify them: uncompressed, the first load was 325 KB, most of it text
that gzip shrinks to a quarter. A phone on the LAN pays for every byte. Each file is
compressed once per version (its ETag) and kept, one entry per file (a new version
replaces the old): the set is small and fixed, so the memory is bounded by the static
folder's size. That holds only if a file has one name: Flask's static route serves
`/static/js/./app.js`, `/static/js/../js/app.js` and `/static/js/app.js/` as app.js, and
10,000 such spellings grew the cache by 120 MB. Any path that is not already in its
shortest form (posixpath.normpath) is 404.
"""

from __future__ import annotations

import gzip
import posixpath
import threading
from typing import Any

from flask import Flask, Response, jsonify, request

COMPRESSIBLE = frozenset({"text/javascript", "application/javascript", "text/css",
                          "image/svg+xml", "application/manifest+json", "application/json",
                          "text/plain"})
MIN_BYTES = 512  # below this, the gzip header costs about what it saves

_cache: dict[str, tuple[str, bytes]] = {}  # path -> (etag, gzip body)
_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.before_request(_one_name_per_file)
    app.after_request(_compress_static)


def _one_name_per_file() -> Any:
    path = request.path
    if path.startswith("/static/") and posixpath.normpath(path) != path:
        return jsonify(error="No such file"), 404
    return None


def _compress_static(response: Response) -> Response:
    if (response.status_code != 200 or request.method != "GET"
            or not request.path.startswith("/static/")
            or response.mimetype not in COMPRESSIBLE
            or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
            or response.headers.get("Content-Encoding")
            or response.headers.get("Content-Range")):
        return response
    response.vary.add("Accept-Encoding")
    etag, _ = response.get_etag()
    with _lock:
        cached_etag, body = _cache.get(request.path, ("", None))
    if not etag or cached_etag != etag:
        body = None
    if body is None:
        response.direct_passthrough = False  # send_file streams the file: read it here
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=6, mtime=0)
        if etag:
            with _lock:
                _cache[request.path] = (etag, body)
    close = getattr(response.response, "close", None)  # the file send_file opened
    if close is not None:
        response.call_on_close(close)
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    if etag:  # another representation of the file: another tag (RFC 9110, 8.8.3)
        response.set_etag(f"{etag}-gzip", weak=True)
    return response.make_conditional(request)  # a reload sends that tag back: 304
