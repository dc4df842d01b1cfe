"""Where Ollama listens, read from OLLAMA_HOST the way Ollama's own client reads it.

Its own module so the settings table (webchat/config.py) can name the default Ollama URL
without the ollama family importing the settings.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_OLLAMA_PORT = 11434


def ollama_url_from_host(value: str | None) -> str:
    """Read OLLAMA_HOST the way Ollama's own client does (envconfig.Host).

    Accepts `0.0.0.0`, `host`, `host:port`, `[::1]:port` or a full URL. A listen-all
    address is something a server binds to, not something a client can reach, so it
    becomes loopback.
    """
    text = (value or "").strip().strip("\"'")
    if not text:
        return f"http://127.0.0.1:{DEFAULT_OLLAMA_PORT}"
    default_port = str(DEFAULT_OLLAMA_PORT)
    scheme, sep, hostport = text.partition("://")
    if not sep:
        scheme, hostport = "http", text
    elif scheme == "http":
        default_port = "80"
    elif scheme == "https":
        default_port = "443"
    hostport, _, path = hostport.partition("/")
    try:  # a bare IP, "::" included, has no port to split off
        host, port = str(ipaddress.ip_address(hostport.strip("[]"))), None
    except ValueError:
        parsed = urlsplit(f"//{hostport}")
        try:
            host, port = parsed.hostname or "127.0.0.1", parsed.port
        except ValueError:
            host, port = parsed.hostname or "127.0.0.1", None
    port_text = str(port) if port is not None else default_port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_unspecified:
        host = "127.0.0.1" if address.version == 4 else "::1"
    if ":" in host:
        host = f"[{host}]"
    suffix = f"/{path.strip('/')}" if path.strip("/") else ""
    return f"{scheme}://{host}:{port_text}{suffix}"
