"""Settings: one name, one default, one environment variable each.

`run.py` turns the same table into command-line flags, so the flag, the variable and
the Flask config key can never drift apart.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ollama.address import ollama_url_from_host

# The `Server` header on both servers and the socket's 101: a name, never versions
# (Werkzeug's default told an attacker `Werkzeug/3.1.8 Python/3.11.7`).
SERVER_HEADER = "ollama-webchat"


def default_data_dir() -> str:
    """Keep data where the user's other applications keep theirs (XDG on Linux)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return os.path.join(base, "ollama-webchat")


@dataclass(frozen=True)
class Setting:
    key: str  # Flask config key
    env: str  # environment variable
    flag: str  # run.py flag
    default: Callable[[], Any]
    kind: type
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "WEBCHAT_HOST", "--host", lambda: "127.0.0.1", str,
            "address to listen on (127.0.0.1 = this machine only)"),
    Setting("PORT", "WEBCHAT_PORT", "--port", lambda: 8765, int, "port to listen on"),
    Setting("OLLAMA_URL", "WEBCHAT_OLLAMA_URL", "--ollama-url",
            lambda: ollama_url_from_host(os.environ.get("OLLAMA_HOST")), str,
            "Ollama server URL, or several comma-separated in order of preference, "
            "optionally labelled (gpu=http://10.0.0.5:11434,nas=http://nas:11434) "
            "(default: OLLAMA_HOST read as Ollama reads it, else http://127.0.0.1:11434)"),
    Setting("DATA_DIR", "WEBCHAT_DATA_DIR", "--data-dir", default_data_dir, str,
            "instance folder holding the SQLite history and the secret key"),
    Setting("MAX_HISTORY", "WEBCHAT_MAX_HISTORY", "--max-history", lambda: 10, int,
            "user/assistant messages sent to the model besides the system prompt (at "
            "least; the window holds whole exchanges)"),
    Setting("WINDOW_STEP", "WEBCHAT_WINDOW_STEP", "--window-step", lambda: 8, int,
            "messages the window's start jumps at once, so Ollama reuses its cache of the "
            "prompt in between (a request holds at most max-history + this; 0 = slide)"),
    Setting("MAX_MESSAGE_BYTES", "WEBCHAT_MAX_MESSAGE_BYTES", "--max-message-bytes",
            lambda: 32 * 1024, int, "largest chat message accepted, in UTF-8 bytes"),
    Setting("MAX_FRAME_BYTES", "WEBCHAT_MAX_FRAME_BYTES", "--max-frame-bytes",
            lambda: 1024 * 1024, int,
            "largest WebSocket message accepted, in bytes as it arrives (fragments "
            "included); a bigger one closes the socket"),
    Setting("CONNECT_TIMEOUT", "WEBCHAT_CONNECT_TIMEOUT", "--connect-timeout",
            lambda: 5.0, float, "seconds to wait for a connection to Ollama"),
    Setting("READ_TIMEOUT", "WEBCHAT_READ_TIMEOUT", "--read-timeout", lambda: 300.0, float,
            "seconds Ollama may stay silent mid-reply (a big model can take minutes "
            "to load) before the reply is abandoned"),
    Setting("TOKEN", "WEBCHAT_TOKEN", "--token", lambda: "", str,
            "access token required when listening beyond loopback (default: generated "
            "once and kept in the data dir)"),
    Setting("ADMIN_TOKEN", "WEBCHAT_ADMIN_TOKEN", "--admin-token", lambda: "", str,
            "token of the admin link, which may download and delete models on a shared "
            "server (default: generated once and kept in the data dir)"),
    Setting("GUESTS_MANAGE_MODELS", "WEBCHAT_GUESTS_MANAGE_MODELS", "--guests-manage-models",
            lambda: False, bool, "let guests (the share link) download and delete models too"),
    Setting("MAX_KEEP_ALIVE", "WEBCHAT_MAX_KEEP_ALIVE", "--max-keep-alive", lambda: "30m",
            str, "longest keep_alive a guest may ask for (never -1, forever)"),
    Setting("ALLOW_CLOUD_MODELS", "WEBCHAT_ALLOW_CLOUD_MODELS", "--allow-cloud-models",
            lambda: False, bool, "let guests (the share link) chat with models Ollama runs "
            "on ollama.com, which sends their conversations off this machine"),
    Setting("ALLOW_PULL_FROM", "WEBCHAT_ALLOW_PULL_FROM", "--allow-pull-from", lambda: "",
            str, "registry hosts (comma-separated) models may be downloaded from besides "
            "Ollama's own"),
    Setting("NO_AUTH", "WEBCHAT_NO_AUTH", "--no-auth", lambda: False, bool,
            "serve a non-loopback address WITHOUT an access token"),
    Setting("ALLOWED_ORIGINS", "WEBCHAT_ALLOWED_ORIGINS", "--allowed-origin", lambda: "", str,
            "extra origins (comma-separated, e.g. https://chat.example.lan) allowed to open "
            "the socket and post, besides the app's own"),
    Setting("ALLOWED_HOSTS", "WEBCHAT_ALLOWED_HOSTS", "--allowed-host", lambda: "", str,
            "extra names (comma-separated, name or name:port) the server answers to, e.g. "
            "a reverse proxy's; any other Host header is refused (DNS rebinding)"),
    Setting("MESSAGES_PER_MINUTE", "WEBCHAT_MESSAGES_PER_MINUTE", "--messages-per-minute",
            lambda: 30, int, "chat messages one browser may send per minute"),
    Setting("SOCKETS_PER_SESSION", "WEBCHAT_SOCKETS_PER_SESSION", "--sockets-per-session",
            lambda: 8, int, "open sockets (tabs) one browser may hold"),
    Setting("NEW_SESSIONS_PER_MINUTE", "WEBCHAT_NEW_SESSIONS_PER_MINUTE",
            "--new-sessions-per-minute", lambda: 20, int,
            "new browsers (cookies) one network address may start per minute "
            "(loopback exempt)"),
    Setting("SOCKETS_PER_ADDRESS", "WEBCHAT_SOCKETS_PER_ADDRESS", "--sockets-per-address",
            lambda: 32, int, "open sockets one network address may hold (loopback exempt)"),
    Setting("MESSAGES_PER_ADDRESS", "WEBCHAT_MESSAGES_PER_ADDRESS", "--messages-per-address",
            lambda: 60, int,
            "chat messages one network address may send per minute, all its browsers "
            "together (loopback exempt)"),
    Setting("MODEL_OPS_PER_MINUTE", "WEBCHAT_MODEL_OPS_PER_MINUTE", "--model-ops-per-minute",
            lambda: 60, int, "model operations (load, unload, show, pull, delete) one "
            "browser may ask for per minute"),
    Setting("MODEL_OPS_PER_ADDRESS", "WEBCHAT_MODEL_OPS_PER_ADDRESS",
            "--model-ops-per-address", lambda: 120, int,
            "model operations one network address may ask for per minute, all its "
            "browsers together (loopback exempt)"),
    Setting("CONNECTIONS_PER_ADDRESS", "WEBCHAT_CONNECTIONS_PER_ADDRESS",
            "--connections-per-address", lambda: 64, int,
            "--production: open connections one network address may hold (0 = no cap; "
            "loopback exempt)"),
    Setting("HEADER_TIMEOUT", "WEBCHAT_HEADER_TIMEOUT", "--header-timeout", lambda: 10.0,
            float, "seconds a connection may take to send its request header (both "
            "servers)"),
    Setting("BODY_TIMEOUT", "WEBCHAT_BODY_TIMEOUT", "--body-timeout", lambda: 60.0,
            float, "--production: seconds a request may take to send its body, once its "
            "header is in"),
    Setting("KEEPALIVE_TIMEOUT", "WEBCHAT_KEEPALIVE_TIMEOUT", "--keepalive-timeout",
            lambda: 5, int,
            "--production: seconds an idle keep-alive connection stays open (it holds no "
            "thread meanwhile)"),
    Setting("CONNECTIONS_TOTAL", "WEBCHAT_CONNECTIONS_TOTAL", "--connections-total",
            lambda: 1000, int,
            "--production: connections open at once, of every kind; at the limit the "
            "oldest idle keep-alive connection is closed to make room"),
    Setting("IDLE_TIMEOUT", "WEBCHAT_IDLE_TIMEOUT", "--idle-timeout", lambda: 60.0, float,
            "development server (no --production): seconds a connection may stay silent "
            "before it is closed; keep it above the sockets' 25 s ping (0 = never)"),
    Setting("PEER_LIMITS_ON_LOOPBACK", "WEBCHAT_PEER_LIMITS_ON_LOOPBACK", "--limit-loopback",
            lambda: False, bool,
            "apply the per-address limits to loopback peers too (a reverse proxy on this "
            "machine then counts as one peer)"),
    Setting("UPLOAD_QUOTA_BYTES", "WEBCHAT_UPLOAD_QUOTA_BYTES", "--upload-quota-bytes",
            lambda: 64 * 1024 * 1024, int, "image bytes one browser may keep stored"),
    Setting("UPLOADS_TOTAL_BYTES", "WEBCHAT_UPLOADS_TOTAL_BYTES", "--uploads-total-bytes",
            lambda: 2 * 1024 * 1024 * 1024, int,
            "image bytes the whole server keeps stored"),
    Setting("STORAGE_QUOTA_BYTES", "WEBCHAT_STORAGE_QUOTA_BYTES", "--storage-quota-bytes",
            lambda: 256 * 1024 * 1024, int,
            "bytes one browser may keep stored, its messages (text, thinking, the requests "
            "kept for the inspector) and images together; an import or upload past it is "
            "refused (0 = no limit)"),
    Setting("SOCKETS_TOTAL", "WEBCHAT_SOCKETS_TOTAL", "--sockets-total", lambda: 256, int,
            "open sockets the whole server accepts"),
    Setting("UNLOAD_GRACE", "WEBCHAT_UNLOAD_GRACE", "--unload-grace", lambda: 60.0, float,
            "seconds a browser may be gone before the models only it used are unloaded"),
    Setting("REPLY_GRACE", "WEBCHAT_REPLY_GRACE", "--reply-grace", lambda: 20.0, float,
            "seconds a reply goes on after the last tab of its browser closed (a reload "
            "finds it still coming); then Ollama is told to stop"),
    Setting("SILENCE_NOTICE", "WEBCHAT_SILENCE_NOTICE", "--silence-notice", lambda: 5.0,
            float, "seconds without a byte from Ollama mid-reply before the page is told "
            "'Ollama is not answering' (0 = never)"),
    Setting("KEEP_MODELS_ON_LEAVE", "WEBCHAT_KEEP_MODELS_ON_LEAVE", "--keep-models-on-leave",
            lambda: False, bool, "do not unload a model when the last browser using it leaves"),
    Setting("KEEP_MODELS_ON_SHUTDOWN", "WEBCHAT_KEEP_MODELS_ON_SHUTDOWN",
            "--keep-models-on-shutdown", lambda: False, bool,
            "do not unload the models this server loaded when it stops (SIGINT/SIGTERM)"),
    Setting("NO_PRELOAD", "WEBCHAT_NO_PRELOAD", "--no-preload", lambda: False, bool,
            "do not load a model when it is picked in the page (only on the first message)"),
    Setting("MAX_CONVERSATIONS", "WEBCHAT_MAX_CONVERSATIONS", "--max-conversations",
            lambda: 200, int, "conversations one browser may keep (0 = no limit)"),
    Setting("MAX_IMAGE_BYTES", "WEBCHAT_MAX_IMAGE_BYTES", "--max-image-bytes",
            lambda: 8 * 1024 * 1024, int,
            "largest image a browser may attach (PNG, JPEG, WebP or GIF)"),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError(f"{setting.env}={raw!r}: use 1/0, true/false, yes/no or on/off")
    try:
        return setting.kind(raw)
    except ValueError as exc:
        raise ValueError(f"{setting.env}={raw!r} is not a valid {setting.kind.__name__}") from exc


def is_loopback(host: str) -> bool:
    """True when only this machine can reach the address."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def settings_from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting from its environment variable or its default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        values[setting.key] = _coerce(setting, raw) if raw not in (None, "") else setting.default()
    return values
