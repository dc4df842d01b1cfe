"""The access token that guards a server listening beyond loopback, Jupyter-style.

Opening `/?token=...` once stores proof of the token in the signed, HttpOnly session
cookie and redirects to the clean URL, so the token does not linger in the address bar or
in history. The cookie holds an HMAC of the token, never the token: rotating the token
(`--token`) logs every browser out. The admin token (the admin link) is taken wherever
the access token is, and marks the browser as the admin (webchat/guard/roles.py).

Opening either link gives the browser a fresh id (its conversations move with it,
SessionManager.move): another app on the same host can plant a cookie (cookies ignore
ports), and a planted id used to become the admin's when the admin opened the admin link,
so its planter had the admin's role and searches. The role lives only in the signed
cookie (proof of the token), never in a list of ids.

Wrong tokens are slowed, never the right one: behind a reverse proxy everyone shares one
address, and ten wrong guesses there used to lock every new login out for 5 minutes.
Past FAILED_ATTEMPTS in FAILED_WINDOW an address's wrong guesses are answered 429 after
GUESS_DELAY seconds (at most DELAYED_AT_ONCE wait at once; the rest are answered at once).
The generated tokens (24 bytes, 192 bits) are what keeps a guesser out; the delay is for
a short `--token`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session

from .roles import ADMIN, GUEST, lan_bound

FAILED_ATTEMPTS = 10  # wrong tokens per address ...
FAILED_WINDOW = 300.0  # ... per this many seconds, before the next ones are slowed
GUESS_DELAY = 2.0  # seconds a slowed wrong token waits for its 429
DELAYED_AT_ONCE = 8  # slowed answers waiting at once (each holds a thread)
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
    """Admin only with proof of the admin token in the signed cookie. (A response to a
    request sent before the admin link was opened cannot bring back the older cookie:
    Flask sends the cookie only when the session changes, SESSION_REFRESH_EACH_REQUEST
    off in webchat/__init__.py.)"""
    admin: str = current_app.config.get("ADMIN_TOKEN") or ""
    if admin and hmac.compare_digest(session.get("admin", ""), token_proof(admin)):
        return ADMIN
    return GUEST


def _make_admin() -> None:
    if _role_from_cookie() != ADMIN:
        _renew_browser_id()
    session["admin"] = token_proof(current_app.config["ADMIN_TOKEN"])
    g.role = ADMIN


def _renew_browser_id() -> None:
    """A fresh id for this browser, everything of the old one moved to it; the old id
    keeps nothing (no role, no rows). A browser without an id yet gets one as usual,
    and a socket keeps its id: its answer cannot set a cookie, so the browser would
    keep the old id and find its conversations gone."""
    old = session.get("sid")
    if not old or request.path == "/ws":
        return
    new = str(uuid.uuid4())
    services = current_app.extensions["webchat"]
    services.sessions.move(old, new)
    services.usage.rename(old, new)
    session["sid"] = new
    session.permanent = True


def _wrong_token() -> Any:
    """403, or once the address is past the limit a slowed 429 (see the docstring)."""
    address = _client_address()
    services = current_app.extensions["webchat"]
    wait = services.auth_failures.hit(address)
    if not wait:
        return _refuse(403, "That access token is not right.")
    slowed = services.slowed_guesses
    if slowed.acquire(blocking=False):
        try:
            time.sleep(GUESS_DELAY)
        finally:
            slowed.release()
    return _refuse(429, f"Too many wrong tokens from this address; wrong ones are slowed "
                        f"for {int(wait) + 1} s (the right token still opens it).")


def _require_token() -> Any:
    """Let the request through, or answer it; on the way set `g.role` (webchat/guard/roles.py)."""
    config = current_app.config
    if not lan_bound(config):
        g.role = ADMIN  # only this machine's own user can connect
    if request.path in PUBLIC_PATHS:
        return None
    token: str = config["ACCESS_TOKEN"]
    offered = _offered_token()
    if offered is None:
        if "role" not in g:
            g.role = _role_from_cookie()
        if not config.get("AUTH_REQUIRED") or hmac.compare_digest(
                session.get("auth", ""), token_proof(token)):
            return None
        return _refuse(401, "Open the link with the access token that the server "
                            "printed, or type the token below.")
    link = request.method == "GET" and "token" in request.args and request.path != "/ws"
    if _is_admin_token(offered):
        _make_admin()
    elif hmac.compare_digest(offered.encode(), token.encode()):
        if link:
            _renew_browser_id()
        if "role" not in g:
            g.role = _role_from_cookie()
    elif not config.get("AUTH_REQUIRED"):
        if "role" not in g:
            g.role = _role_from_cookie()
        return None  # no token needed: a wrong one is ignored, as it always was
    else:
        return _wrong_token()
    session["auth"] = token_proof(token)
    session.permanent = True
    if link:
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        return redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)
    return None
