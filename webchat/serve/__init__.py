"""Serving the app in production: gunicorn behind `run.py --production`, with the worker
slow clients cannot starve.

Never imports ollama, models, store, relay, api, ws, guard or services: only the app
factory and shutdown from the package's top."""
