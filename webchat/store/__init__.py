"""What the app keeps in SQLite: the schema, the session manager and its conversations,
history, exchanges and branches, the window sent to the model and its fit in tokens,
uploads, search, and retention (quotas and pruning) (a conversation as a file is webchat/files/).

Never imports ollama, models, relay, api, ws, serve or services."""
