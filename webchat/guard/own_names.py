"""The app answers only to its own names: the defence against DNS rebinding.

A page on `attacker.example` that rebinds its name to 127.0.0.1 reaches this server with
`Host: attacker.example:PORT` and `Origin: http://attacker.example:PORT`, so comparing
Origin with Host proves nothing. Instead every request's `Host` must be one of the names
this server really has (loopback names, and in LAN mode the machine's addresses and host
name), or one the operator named (`--allowed-host`, the hosts of `--allowed-origin`, for a
reverse proxy); and `Origin` must be one of those names' origins, scheme included.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request

from ..config import is_loopback

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_LISTEN_ALL = ("0.0.0.0", "::", "")


@dataclass
class OwnNames:
    """`names` answer on the server's own port; from --allowed-host, `anywhere` (no port
    given) on any port and `hostports` (name:port) exactly, with either scheme; from
    --allowed-origin, `origin_hosts` as Host and `origins` exactly, scheme included."""

    names: set[str] = field(default_factory=set)
    anywhere: set[str] = field(default_factory=set)
    hostports: set[tuple[str, int]] = field(default_factory=set)
    origin_hosts: set[tuple[str, int]] = field(default_factory=set)
    origins: set[str] = field(default_factory=set)


def split_host(value: str, default_port: int) -> tuple[str, int] | None:
    """`name[:port]` or `[v6][:port]` as (lower-case name, port); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:]
    else:
        name, _, port_text = value.partition(":")
    name = name.rstrip(".")
    if not name or any(c in name for c in "/@ \\"):
        return None
    if not port_text:
        return name, default_port
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def _machine_names(host: str) -> set[str]:
    """The names other machines use for this one when it listens beyond loopback."""
    from .netinfo import lan_addresses

    names = set(LOOPBACK_NAMES)
    if is_loopback(host):
        return names | {host.strip("[]").lower()}
    if host in _LISTEN_ALL:
        names.update(lan_addresses())
    else:
        names.add(host.strip("[]").lower())
    hostname = socket.gethostname().lower()
    if hostname:
        names.update({hostname, f"{hostname}.local", hostname.split(".")[0]})
    try:
        names.add(socket.getfqdn().lower())
    except OSError:
        pass
    return names


def own_names(config: dict[str, Any]) -> OwnNames:
    """Work out, once at start, every name this server answers to."""
    found = OwnNames(names=_machine_names(config["HOST"]))
    for entry in _split(config.get("ALLOWED_HOSTS", "")):
        parsed = split_host(entry, 0)
        if parsed is None:
            raise ValueError(f"--allowed-host {entry!r}: expected a name or name:port")
        name, port = parsed
        if port:
            found.hostports.add((name, port))
        else:
            found.anywhere.add(name)
    for origin in config.get("ALLOWED_ORIGINS", ()):
        parts = urlsplit(origin)
        default = 443 if parts.scheme == "https" else 80
        parsed = split_host(parts.netloc, default) if parts.netloc else None
        if parsed is None or parts.scheme not in ("http", "https"):
            raise ValueError(f"--allowed-origin {origin!r}: expected e.g. "
                             "https://chat.example.lan")
        found.origin_hosts.add(parsed)
        found.origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return found


def _split(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [item.strip() for item in value or () if item.strip()]


def _server_port() -> int:
    try:
        return int(request.environ.get("SERVER_PORT") or 0)
    except ValueError:
        return 0


def host_allowed(host_header: str) -> bool:
    names: OwnNames = current_app.extensions["webchat"].own_names
    default = 443 if request.scheme == "https" else 80
    parsed = split_host(host_header, default)
    if parsed is None:
        return False
    name, port = parsed
    if name in names.anywhere or (name, port) in names.hostports | names.origin_hosts:
        return True
    return name in names.names and port == _server_port()


def origin_allowed(origin: str) -> bool:
    """Same scheme and name as the app's own, or an origin named with --allowed-origin,
    or (behind a proxy) either scheme on an --allowed-host name."""
    names: OwnNames = current_app.extensions["webchat"].own_names
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if f"{parts.scheme}://{parts.netloc.lower()}" in names.origins:
        return True
    parsed = split_host(parts.netloc, 443 if parts.scheme == "https" else 80)
    if parsed is None:
        return False
    name, port = parsed
    if name in names.anywhere or (name, port) in names.hostports:
        return True
    return (parts.scheme == request.scheme and name in names.names
            and port == _server_port())


def init_app(app: Flask) -> None:
    app.before_request(_check_host)


def _check_host() -> Any:
    host = request.headers.get("Host", "")
    if host_allowed(host):
        return None
    message = (f"This server does not answer to the name {host[:80]!r}. Open it by one of "
               f"its own addresses, or start it with --allowed-host for that name.")
    if request.path.startswith("/api/") or request.path == "/ws":
        return jsonify(error=message), 421
    return Response(message + "\n", status=421, mimetype="text/plain")
