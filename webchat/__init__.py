"""Ollama WebChat: a small, self-hosted browser chat for a local Ollama server."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, jsonify, request, session

from . import compression, pages
from .api import blueprint as api
from .config import SERVER_HEADER, is_loopback, settings_from_env
from .guard import auth, bodies, headers, ids, own_names, safejson
from .guard.limits import PartialBudget, RateLimiter, SocketCounter, budget_for
from .guard.peers import PeerLimits, client_address
from .guard.secret import load_or_create_secret, make_private
from .models.usage import ModelUsage, ps_look
from .ollama.hosts import Hosts
from .relay.running import ActiveReplies
from .services import Services
from .store.database import Database
from .store.manager import SessionManager
from .store.retention import Pruner, Quotas
from .store.retention import install as install_storage
from .ws.chat_socket import sock

PACKAGE = Path(__file__).resolve().parent


def page_folder(name: str) -> Path:
    """Where the page's `templates` or `static` live: beside the package in a checkout
    (the tree's top, where people look for the page), inside it once installed (the wheel
    maps them to webchat/templates and webchat/static: pyproject.toml)."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an app instance around one data folder."""
    settings = settings_from_env()
    if test_config:
        settings.update(test_config)
    data_dir = Path(settings["DATA_DIR"]).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    app = Flask(__name__, instance_path=str(data_dir), instance_relative_config=True,
                template_folder=str(page_folder("templates")),
                static_folder=str(page_folder("static")))
    app.config.from_mapping(settings)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    app.config.update(
        SECRET_KEY=load_or_create_secret(data_dir),
        # Cookies are per host, not per port: a distinct name avoids clashing with any
        # other Flask app on localhost.
        SESSION_COOKIE_NAME="webchat_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(days=400),
        # The cookie is sent only when it changes (a new id, a token, the daily
        # renewal below): a response to an older request can then never bring back a
        # cookie the admin link replaced (webchat/guard/auth.py).
        SESSION_REFRESH_EACH_REQUEST=False,
        SOCK_SERVER_OPTIONS={"ping_interval": 25,
                             "max_message_size": app.config["MAX_FRAME_BYTES"]},
    )
    app.config["SERVER_HEADER"] = SERVER_HEADER  # gunicorn's too (serve/production.py)
    app.config["ALLOWED_ORIGINS"] = _origins(app.config["ALLOWED_ORIGINS"])
    # Listening beyond loopback means anyone on the network can connect: ask for a token.
    app.config["AUTH_REQUIRED"] = not app.config["NO_AUTH"] and not is_loopback(
        app.config["HOST"])
    app.config["ACCESS_TOKEN"] = app.config["TOKEN"] or load_or_create_secret(
        data_dir, "access_token", 24)
    app.config["ADMIN_TOKEN"] = app.config["ADMIN_TOKEN"] or load_or_create_secret(
        data_dir, "admin_token", 24)
    logging.getLogger("webchat").setLevel(logging.INFO)

    # Every Ollama URL is checked now: a malformed one stops start-up with its reason.
    ollama_hosts = Hosts.from_setting(app.config["OLLAMA_URL"], app.config["CONNECT_TIMEOUT"],
                                      app.config["READ_TIMEOUT"])
    db = Database(data_dir / "webchat.sqlite3")
    sessions = SessionManager(db, app.config["MAX_HISTORY"], app.config["WINDOW_STEP"],
                              Quotas.from_config(app.config))
    sessions.exchanges.recover_interrupted()
    make_private(data_dir)  # after SQLite made its files
    install_storage(db)
    usage = ModelUsage(ollama_hosts.release, app.config["UNLOAD_GRACE"],
                       unload_on_leave=not app.config["KEEP_MODELS_ON_LEAVE"],
                       look=partial(ps_look, ollama_hosts))
    replies = ActiveReplies(sessions.exchanges.save_partials, app.config["REPLY_GRACE"],
                            app.config["SILENCE_NOTICE"])
    app.extensions["webchat"] = Services(
        config=app.config, hosts=ollama_hosts, sessions=sessions, active=replies, usage=usage,
        sockets=SocketCounter(),
        message_rate=RateLimiter(app.config["MESSAGES_PER_MINUTE"], 60.0),
        peers=PeerLimits(app.config), pruner=Pruner(db),
        own_names=own_names.own_names(app.config),
        auth_failures=RateLimiter(auth.FAILED_ATTEMPTS, auth.FAILED_WINDOW),
        slowed_guesses=threading.BoundedSemaphore(auth.DELAYED_AT_ONCE),
        model_rate=RateLimiter(app.config["MODEL_OPS_PER_MINUTE"], 60.0),
        partial_budget=PartialBudget(budget_for(app.config["MAX_FRAME_BYTES"])))

    own_names.init_app(app)  # first: a foreign Host gets 421 before anything else
    auth.init_app(app)
    headers.init_app(app)
    compression.init_app(app)
    bodies.init_app(app)
    safejson.init_app(app)
    ids.init_app(app)
    app.before_request(_ensure_session_id)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    sock.init_app(app)
    return app


def shutdown(app: Flask, unload: bool | None = None) -> list[str]:
    """Stop running replies and, unless told to keep them, unload the models this server
    loaded, as the seed does at process termination. Returns the models unloaded."""
    services: Services = app.extensions["webchat"]
    services.close_sockets()
    services.pulls.cancel_all()
    services.preloads.cancel(reason="disconnected")
    for reply in services.active.all():
        reply.stop("shutdown")
        reply.finished.wait(5)
    if unload is None:
        unload = not app.config["KEEP_MODELS_ON_SHUTDOWN"]
    unloaded = services.usage.shutdown() if unload else services.usage.forget()
    services.sessions.db.close()
    return unloaded


def _origins(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [origin.strip().rstrip("/") for origin in value or () if origin.strip()]


COOKIE_RENEWAL = 86400  # seconds: the page renews its 400-day cookie once a day


def _ensure_session_id() -> Any:
    """Give each browser its id on an ordinary request: a WebSocket cannot set cookies.
    Opening the page renews the cookie's 400 days once a day."""
    if "sid" in session and request.path == "/" and \
            session.get("renewed", 0) < time.time() - COOKIE_RENEWAL:
        session["renewed"] = int(time.time())
    if "sid" in session or request.path == "/ws" or request.path.startswith("/static/"):
        return
    # No row yet: one is written when the browser first stores something, so a
    # client making cookies leaves nothing behind; an address may not make many.
    wait = current_app.extensions["webchat"].peers.new_session(client_address())
    if wait:
        return _too_many(f"Too many new browsers from this address; try again in "
                         f"{int(wait) + 1} s.")
    session["sid"] = str(uuid.uuid4())
    session["renewed"] = int(time.time())
    session.permanent = True
    current_app.extensions["webchat"].pruner.maybe_prune()
    return None


def _too_many(message: str) -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error=message), 429
    return Response(message + "\n", status=429, mimetype="text/plain")
