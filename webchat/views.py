"""The one page."""

from __future__ import annotations

import functools
import posixpath
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

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
