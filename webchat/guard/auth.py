"""The access token that guards a server listening beyond loopback, Jupyter-style.

Opening `/?token=...` once stores proof of the token in the signed, HttpOnly session
cookie and redirects to the clean URL, so the token does not linger in the address bar or
in history. The cookie holds an HMAC of the token, never the token: rotating the token
(`--token`) logs every browser out. The admin token (the admin link) is taken wherever
the access token is, and marks the browser as the admin (webchat/guard/roles.py).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session

from .limits import RateLimiter
from .roles import ADMIN, GUEST, lan_bound

FAILED_ATTEMPTS = 10  # wrong tokens per address ...
FAILED_WINDOW = 300.0  # ... per this many seconds
PUBLIC_PATHS = ("/static/css/login.css",)

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ollama WebChat: access token needed</title>
<link rel="stylesheet" href="/static/css/login.css"></head>
<body><main class="login">
<h1>Access token needed</h1>
<p>This Ollama WebChat is shared on the network, so it asks for the access token that
<code>python run.py</code> printed when it started (also in the file
<code>access_token</code> in its data folder).</p>
{notice}
<form method="get" action="/">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the chat</button>
</form></main></body></html>
"""


def init_app(app: Flask) -> None:
    app.before_request(_require_token)


def token_proof(token: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _refuse(status: int, message: str) -> Any:
    if request.path.startswith("/api/") or request.path == "/ws":
        return jsonify(error=message), status
    notice = f'<p class="notice" role="alert">{_escape(message)}</p>'
    return Response(LOGIN_PAGE.format(notice=notice), status=status,
                    mimetype="text/html")


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _offered_token() -> str | None:
    offered = request.args.get("token")
    if offered is None:
        bearer = request.headers.get("Authorization", "")
        offered = bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
    return offered


def _is_admin_token(offered: str) -> bool:
    admin: str = current_app.config.get("ADMIN_TOKEN") or ""
    return bool(admin) and hmac.compare_digest(offered.encode(), admin.encode())


def _role_from_cookie() -> str:
    admin: str = current_app.config.get("ADMIN_TOKEN") or ""
    if admin and hmac.compare_digest(session.get("admin", ""), token_proof(admin)):
        return ADMIN
    if session.get("sid") in current_app.extensions["webchat"].admin_sids:
        return ADMIN
    return GUEST


def _make_admin() -> None:
    """The cookie carries proof of the admin token; the browser's id is remembered too,
    since a response to a request the page sent before it opened the admin link may
    still bring back its older cookie (Flask re-sends a permanent session every time)."""
    session["admin"] = token_proof(current_app.config["ADMIN_TOKEN"])
    if "sid" in session:
        current_app.extensions["webchat"].admin_sids.add(session["sid"])
    g.role = ADMIN


def _require_token() -> Any:
    """Let the request through, or answer it; on the way set `g.role` (webchat/guard/roles.py)."""
    config = current_app.config
    if not lan_bound(config):
        g.role = ADMIN  # only this machine's own user can connect
    if request.path in PUBLIC_PATHS:
        return None
    token: str = config["ACCESS_TOKEN"]
    failures: RateLimiter = current_app.extensions["webchat"].auth_failures
    offered = _offered_token()
    if offered is None:
        if "role" not in g:
            g.role = _role_from_cookie()
        if not config.get("AUTH_REQUIRED") or hmac.compare_digest(
                session.get("auth", ""), token_proof(token)):
            return None
        return _refuse(401, "Open the link with the access token that the server "
                            "printed, or type the token below.")
    wait = failures.retry_after(_client_address())
    if wait:
        return _refuse(429, f"Too many wrong tokens from this address; try again in "
                            f"{int(wait) + 1} s.")
    if _is_admin_token(offered):
        _make_admin()
    elif hmac.compare_digest(offered.encode(), token.encode()):
        if "role" not in g:
            g.role = _role_from_cookie()
    elif not config.get("AUTH_REQUIRED"):
        if "role" not in g:
            g.role = _role_from_cookie()
        return None  # no token needed: a wrong one is ignored, as it always was
    else:
        failures.hit(_client_address())
        return _refuse(403, "That access token is not right.")
    session["auth"] = token_proof(token)
    session.permanent = True
    if request.method == "GET" and "token" in request.args and request.path != "/ws":
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        return redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)
    return None
