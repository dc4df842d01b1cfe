"""The one page, and the service worker that keeps it for offline reloads."""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, url_for

bp = Blueprint("pages", __name__)

ENTRY_MODULE = "js/app.js"
# `import ... from "./x.js"` and `import "./x.js"`; dynamic import() stays lazy on purpose
_STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b[^"\'()]*?["\'](\.{1,2}/[^"\']+)["\'];?',
                            re.MULTILINE)


@functools.cache
def module_graph(static_folder: str, entry: str = ENTRY_MODULE) -> tuple[str, ...]:
    """Every module the entry module imports statically, directly or not.

    The page names them all up front (`modulepreload`): otherwise the browser finds them
    one import level at a time, three round trips before the first paint."""
    found: list[str] = []
    pending = [entry]
    while pending:
        module = pending.pop(0)
        if module in found:
            continue
        found.append(module)
        source = (Path(static_folder) / module).read_text(encoding="utf-8")
        for target in _STATIC_IMPORT.findall(source):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(module), target)))
    return tuple(found[1:])


@bp.get("/")
def index() -> Any:
    return render_template("index.html", max_history=current_app.config["MAX_HISTORY"],
                           max_image_bytes=current_app.config["MAX_IMAGE_BYTES"],
                           load_on_pick=not current_app.config["NO_PRELOAD"],
                           preload=module_graph(current_app.static_folder or ""))


# Besides the modules: what the page loads itself, or when installed (manifest, icons).
_SHELL_EXTRAS = ("css/*.css", "vendor/purify.min.js", "favicon.svg",
                 "manifest.webmanifest", "icons/*.png", "vendor/highlight/**/*.js")
# Kept once the page has used them, not fetched up front: highlight.js (121 KB) loads at
# the first code block, and the first visit stays as light as before.
_LAZY = "vendor/highlight/"


@functools.cache
def shell_files(static_folder: str, template: str) -> tuple[tuple[str, ...], str]:
    """The static files the service worker keeps, and a version that changes whenever
    one of them or the page's template does (so an update replaces the cache)."""
    root = Path(static_folder)
    files = [ENTRY_MODULE, *module_graph(static_folder)]
    for pattern in _SHELL_EXTRAS:
        found = sorted(root.glob(pattern)) if "*" in pattern else [root / pattern]
        files += [path.relative_to(root).as_posix() for path in found]
    files = list(dict.fromkeys(files))
    digest = hashlib.sha256(Path(template).read_bytes())
    for name in files:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return tuple(files), digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker() -> Any:
    """Served from the app's root so that its scope is the whole app (/api and /ws are
    left alone by the worker itself)."""
    files, version = shell_files(current_app.static_folder or "",
                                 str(Path(current_app.template_folder or "", "index.html")))
    shell = [url_for("pages.index")] + [url_for("static", filename=name) for name in files
                                        if not name.startswith(_LAZY)]
    lazy = [url_for("static", filename=name) for name in files if name.startswith(_LAZY)]
    body = render_template("sw.js", version=version, shell=shell, lazy=lazy)
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})
