"""The service worker's script: what it keeps, and a version that follows the files."""

from __future__ import annotations

import json
import re

from webchat.pages import shell_files


def test_service_worker_lists_the_shell_and_never_the_api(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    text = response.get_data(as_text=True)
    shell = json.loads(re.search(r"^const SHELL = (\[.*\]);", text, re.M).group(1))
    assert shell[0] == "/"
    for path in ("/static/js/app.js", "/static/js/search.js", "/static/css/style.css",
                 "/static/vendor/marked.esm.js", "/static/manifest.webmanifest",
                 "/static/icons/icon-512.png"):
        assert path in shell
    lazy = json.loads(re.search(r"^const LAZY = (\[.*\]);", text, re.M).group(1))
    assert "/static/vendor/highlight/core.min.js" in lazy and lazy[0] not in shell
    assert not [p for p in shell if p.startswith("/api") or p == "/ws"]
    manifest = client.get("/static/manifest.webmanifest")
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")


def test_version_changes_with_any_shell_file(tmp_path):
    static = tmp_path / "static"
    for name in ("js/app.js", "js/other.js", "css/style.css", "vendor/purify.min.js",
                 "favicon.svg", "manifest.webmanifest", "icons/icon-192.png"):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text(name)
    (static / "js" / "app.js").write_text('import "./other.js";\n')
    template = tmp_path / "index.html"
    template.write_text("<html>")
    files, first = shell_files(str(static), str(template))
    assert files[:2] == ("js/app.js", "js/other.js") and "icons/icon-192.png" in files
    (static / "js" / "other.js").write_text("changed")
    shell_files.cache_clear()
    assert shell_files(str(static), str(template))[1] != first
