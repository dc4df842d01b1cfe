"""Start Ollama WebChat: `python run.py`, then open the URL it prints."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from webchat.config import SETTINGS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="A browser chat for your local Ollama models.",
        epilog="Every flag can also be set with the environment variable shown; "
               "a flag wins over its variable.")
    for setting in SETTINGS:
        parser.add_argument(setting.flag, type=setting.kind, default=None,
                            dest=setting.key, metavar=setting.kind.__name__.upper(),
                            help=f"{setting.help} "
                                 f"(default: {setting.default()}; env: {setting.env})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Flags win over environment variables; both feed the same settings table.
    for setting in SETTINGS:
        value = getattr(args, setting.key)
        if value is not None:
            os.environ[setting.env] = str(value)

    from werkzeug.serving import make_server

    from webchat import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app()
    host, port = app.config["HOST"], app.config["PORT"]
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        print(f"Cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    shown = f"[{host}]" if ":" in host else host
    print(f"Ollama WebChat is running at http://{shown}:{server.server_port}/", flush=True)
    print(f"Ollama: {app.config['OLLAMA_URL']}   data: {app.instance_path}", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
