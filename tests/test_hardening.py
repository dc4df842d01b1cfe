"""Safe to share: exports of any title, no upstream redirects, private files, body caps."""

from __future__ import annotations

import stat
from urllib.parse import unquote

import pytest

from webchat import create_app, shutdown

from .fake_ollama import FakeOllama
from .live import reply_text

TITLES = ["Γειά σου κόσμε", "İstanbul'da çığ", "日本語のタイトル", "🎉 party 🎉"]


def exported_name(disposition: str) -> tuple[str, str]:
    """The ASCII fallback and the UTF-8 name a browser would pick from the header."""
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    utf8 = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    return fallback, utf8


def check_export(http, url: str, title: str) -> None:
    created = http.post(url + "/api/conversations", json={"title": title}, timeout=5)
    cid = created.json()["id"]
    for kind in ("md", "json"):
        response = http.get(f"{url}/api/conversations/{cid}/export?format={kind}", timeout=5)
        assert response.status_code == 200
        fallback, utf8 = exported_name(response.headers["Content-Disposition"])
        assert fallback.isascii() and fallback.endswith(f".{kind}")
        assert utf8.endswith(f".{kind}")
        assert [w for w in title.split() if w.isalnum()][0] in utf8


@pytest.mark.parametrize("title", TITLES)
def test_export_any_title_on_the_dev_server(user, live_server, title):
    check_export(user.http, live_server.url, title)


def test_a_redirect_from_ollama_is_never_followed(user, fake_ollama):
    with FakeOllama() as elsewhere:
        fake_ollama.redirect_to = elsewhere.url
        frames = user.socket().chat("my secret history")
        assert frames[-1]["type"] == "error"
        assert "redirect" in frames[-1]["message"]
        assert reply_text(frames) == ""
        models = user.http.get(user.server.url + "/api/models", timeout=5)
        assert models.status_code == 502 and "redirect" in models.json()["error"]
        assert elsewhere.requests == []


def test_data_folder_and_files_made_private_at_every_start(tmp_path, fake_ollama):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "secret_key").write_text("k" * 40)
    (data / "secret_key").chmod(0o644)
    app = create_app({"DATA_DIR": str(data), "OLLAMA_URL": fake_ollama.url})
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file()]
        assert any(p.name == "webchat.sqlite3" for p in files)
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {
            p.name: 0o600 for p in files}
    finally:
        shutdown(app, unload=False)
