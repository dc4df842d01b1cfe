"""What the app keeps in SQLite: the schema, the session manager and its conversations,
history, exchanges and branches, the window sent to the model, uploads, search, import and
export, and pruning.

Never imports ollama, models, relay, api, ws, serve or services."""
