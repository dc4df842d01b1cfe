"""The page's own text files go out gzipped, as a separate representation with its own
tag; everything else (images, ranges, clients that do not ask) is sent as it is."""

from __future__ import annotations

import gzip

import requests


def test_static_text_is_gzipped_with_its_own_tag_and_revalidates(live_server):
    url = live_server.url + "/static/js/chat.js"
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=5)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    packed = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
    body = packed.raw.read()
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(body) < len(plain.content) / 2
    assert gzip.decompress(body) == plain.content
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = requests.get(url, headers={"Accept-Encoding": "gzip",
                                       "If-None-Match": packed.headers["ETag"]}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    kept = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
    assert kept.raw.read() == body  # the second answer comes from the kept copy


def test_images_ranges_and_the_api_are_left_alone(live_server):
    icon = requests.get(live_server.url + "/static/icons/icon-192.png", timeout=5)
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers
    part = requests.get(live_server.url + "/static/js/chat.js",
                        headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"}, timeout=5)
    assert part.status_code == 206 and len(part.content) == 10
    assert "Content-Encoding" not in part.headers
    models = requests.get(live_server.url + "/api/models", timeout=5)
    assert models.status_code == 200 and "Content-Encoding" not in models.headers
