"""A conversation as a file and back: the Markdown and JSON exports (every version, its
pictures), the check of a file before an import, and the import written in small
transactions. Above the store it writes through; below the API that serves it.

Never imports ollama, models, relay, api, ws, serve or services."""
