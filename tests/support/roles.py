"""Guests and the admin, as the tests of roles and fair unloads need them."""

from __future__ import annotations

import requests

from .live import BrowserClient, LiveServer


def unload(client: BrowserClient, model: str) -> requests.Response:
    return client.http.post(client.server.url + "/api/unload", json={"model": model},
                            timeout=5)


def guest(server: LiveServer) -> BrowserClient:
    return BrowserClient(server, token=server.app.config["ACCESS_TOKEN"])
