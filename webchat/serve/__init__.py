"""Serving the app: the command that starts it (`run.py`, the installed `ollama-webchat`
script) with the development server, and gunicorn behind `--production`, with the worker
slow clients cannot starve.

Never imports models, store, relay, api, ws or services: only the app factory, shutdown
and the settings from the package's top, the Ollama hosts' config error, and the
machine's LAN addresses for the banner (guard/netinfo.py)."""
