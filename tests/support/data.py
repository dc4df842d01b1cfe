"""Things the tests make: a real PNG, titles in several scripts, and an export check."""

from __future__ import annotations

import struct
import zlib
from urllib.parse import unquote


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"\x00\xff\x00\x00"  # one red pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


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
