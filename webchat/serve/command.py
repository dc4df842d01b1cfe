"""The command that starts Ollama WebChat: `python run.py` in a checkout, or the
`ollama-webchat` script that `pip install .` (or `pipx install .`) puts on the PATH; both
call `main`. Its flags, the banner with the links to open, and the development server with
the header and idle deadlines a slow client cannot outwait."""

from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import sys
from typing import Any

from webchat.config import SERVER_HEADER, SETTINGS, Setting, is_loopback


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A browser chat for your local Ollama models.",
        epilog="Every flag can also be set with the environment variable shown; "
               "a flag wins over its variable.")
    parser.add_argument("--lan", action="store_true",
                        help="share on the local network: listen on all interfaces "
                             "(same as --host 0.0.0.0); an access token is then required")
    parser.add_argument("--production", action="store_true",
                        help="serve with gunicorn's threaded worker (pip install "
                             "-r requirements-production.txt) instead of the development "
                             "server; use it when sharing with many users")
    for setting in SETTINGS:
        text = f"{setting.help} ({_default_text(setting)}env: {setting.env})"
        if setting.kind is bool:
            parser.add_argument(setting.flag, action="store_true", default=None,
                                dest=setting.key, help=f"{setting.help} (env: {setting.env})")
        else:
            parser.add_argument(setting.flag, type=setting.kind, default=None,
                                dest=setting.key, metavar=setting.kind.__name__.upper(),
                                help=text)
    return parser


def _default_text(setting: Setting) -> str:
    """`default: X; `, unless the help already says what the default is (the Ollama URL
    and the tokens describe theirs in words: `--help` printed both)."""
    return "" if "(default:" in setting.help else f"default: {setting.default()}; "


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def lan_conflict(args: argparse.Namespace) -> str | None:
    """`--lan` with a loopback `--host`: the address given wins (it is the more exact
    wish, and widening it to every interface behind the user's back would expose the
    chats), so `--lan` does nothing, and the user is told so rather than left to wonder
    why the phone cannot connect. `--lan` with a LAN address is no conflict: it shares
    on that interface, with the token."""
    if args.lan and args.HOST is not None and is_loopback(args.HOST):
        return (f"WARNING: --lan ignored: --host {args.HOST} is a loopback address, "
                "reachable from this machine only. To share on the network drop --host, "
                "or give a LAN address (or 0.0.0.0).")
    return None


def _apply(args: argparse.Namespace) -> None:
    """Flags win over environment variables; both feed the same settings table."""
    if args.lan and args.HOST is None:
        args.HOST = "0.0.0.0"
    for setting in SETTINGS:
        value = getattr(args, setting.key)
        if value is not None:
            os.environ[setting.env] = "1" if value is True else str(value)


def banner(app: Any, port: int) -> list[str]:
    """What to print at start: where to open it, and how it is protected."""
    from webchat.guard.netinfo import lan_addresses

    host = app.config["HOST"]
    query = f"?token={app.config['ACCESS_TOKEN']}" if app.config["AUTH_REQUIRED"] else ""
    if host in ("0.0.0.0", "::", ""):
        hosts = ["127.0.0.1"] + lan_addresses()
    else:
        hosts = [host]
    if query and not is_loopback(host):  # a shared server: one link for you, one for guests
        lines = share_links(hosts, port, app.config["ADMIN_TOKEN"], query)
    else:
        lines = [f"Ollama WebChat is running at http://{_bracket(hosts[0])}:{port}/{query}"]
        lines += [f"  from other machines:  http://{_bracket(other)}:{port}/{query}"
                  for other in hosts[1:]]
    hosts = app.extensions["webchat"].hosts
    if hosts.several:
        where = ", ".join(f"{h.label}={h.url}" for h in hosts.hosts)
        lines.append(f"Ollama hosts, in order of preference: {where}")
        lines.append(f"data: {app.instance_path}")
    else:
        lines.append(f"Ollama: {hosts.primary.url}   data: {app.instance_path}")
    lines += ollama_warnings(hosts)
    if not is_loopback(host) and not app.config["AUTH_REQUIRED"]:
        lines.append("WARNING: --no-auth: anyone who can reach this machine can read and "
                     "send chats and unload models.")
    elif app.config["AUTH_REQUIRED"]:
        lines.append("Access token required (kept in the data folder as access_token, the "
                     "admin's as admin_token; or set WEBCHAT_TOKEN / WEBCHAT_ADMIN_TOKEN).")
    lines.append("Press Ctrl+C to stop.")
    return lines


def share_links(hosts: list[str], port: int, admin_token: str, query: str) -> list[str]:
    """The owner's link first: when the guests' link came first, the owner opened it and
    found Pull and Delete gone. The admin link is on this machine's address (the first);
    the share links are the machine's network addresses (this machine's when it has
    none)."""
    shared = hosts[1:] or hosts
    lines = ["Ollama WebChat is running.",
             f"  Your admin link (keep it; it may also download and delete models): "
             f"http://{_bracket(hosts[0])}:{port}/?token={admin_token}"]
    lines += [f"  Share link (guests): http://{_bracket(address)}:{port}/{query}"
              for address in shared]
    return lines


def ollama_warnings(hosts: Any) -> list[str]:
    """A line per Ollama host that does not answer now (asked in parallel, at most the
    connect timeout): a server that starts fine while Ollama is down otherwise looks
    healthy until the first message fails."""
    return [f"WARNING: Ollama at {answer.host.url} is not answering ({answer.error}). "
            "Start it (`ollama serve`) or point --ollama-url at it; the page says so "
            "until it is back." for answer in hosts.gather(("version",)) if not answer.ok]


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _bounded_handler(idle_timeout: float, header_timeout: float) -> Any:
    """`--idle-timeout` (60 s by default: more than the sockets' 25 s ping, so a quiet
    chat tab is never cut; 0 or less leaves connections unbounded) and `--header-timeout`
    (10 s: a whole request header, however it trickles; 0 or less: none)."""
    import socket
    import time

    from werkzeug.serving import WSGIRequestHandler

    silent = idle_timeout if idle_timeout > 0 else None

    class HeaderDeadline(socket.SocketIO):
        """Reads a request header by the handler's deadline: each read may wait only for
        what is left of it (a timeout per read alone lets a client that sends a line
        every few seconds hold its thread for ever)."""

        def __init__(self, sock: socket.socket, handler: Any) -> None:
            super().__init__(sock, "rb")
            self.handler = handler

        def readinto(self, buffer: Any) -> int | None:
            deadline = self.handler.header_deadline
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the request header did not come in time")
                self._sock.settimeout(left if silent is None else min(left, silent))
            return super().readinto(buffer)

    class Handler(WSGIRequestHandler):
        """The development server spends a thread per connection: one silent for
        `timeout` seconds (an idle keep-alive, a stalled body), or whose request header
        is not whole within `header_timeout` seconds (1,000 half-sent requests were
        1,000 threads for as long as they trickled), is closed."""

        timeout = silent
        header_deadline: float | None = None

        def setup(self) -> None:
            super().setup()
            if header_timeout > 0:
                self.rfile = io.BufferedReader(HeaderDeadline(self.connection, self))

        def handle_one_request(self) -> None:
            if header_timeout > 0:  # the next request line and header, from now
                self.header_deadline = time.monotonic() + header_timeout
            try:
                super().handle_one_request()
            finally:
                self._header_read()

        def parse_request(self) -> bool:
            try:
                return super().parse_request()  # reads the header lines
            finally:
                self._header_read()

        def _header_read(self) -> None:
            if self.header_deadline is not None:
                self.header_deadline = None
                self.connection.settimeout(self.timeout)

        def version_string(self) -> str:
            return SERVER_HEADER  # not Werkzeug's and Python's versions

    return Handler


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # leave serve_forever() and clean up in main()


def serve_production(app: Any) -> int:
    """gunicorn handles SIGINT/SIGTERM itself; the worker unloads models on its way out."""
    from webchat import create_app, shutdown
    from webchat.serve.production import ProductionServer

    config = dict(app.config)
    shutdown(app, unload=False)  # the worker makes its own app after the fork

    def ready(port: int | None) -> None:
        print("\n".join(banner(app, port or config["PORT"])), flush=True)

    ProductionServer(config, create_app, on_ready=ready).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    conflict = lan_conflict(args)
    if conflict:
        print(conflict, file=sys.stderr, flush=True)
    _apply(args)

    from werkzeug.serving import make_server

    from webchat import create_app, shutdown
    from webchat.ollama.hosts import HostsConfigError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app = create_app()
    except HostsConfigError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    if args.production:
        return serve_production(app)
    host, port = app.config["HOST"], app.config["PORT"]
    try:
        server = make_server(host, port, app, threaded=True,
                             request_handler=_bounded_handler(app.config["IDLE_TIMEOUT"],
                                                              app.config["HEADER_TIMEOUT"]))
    except OSError as exc:
        print(f"Cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("\n".join(banner(app, server.server_port)), flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        unloaded = shutdown(app)
        if unloaded:
            print(f"Unloaded {', '.join(unloaded)} from Ollama's memory.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
