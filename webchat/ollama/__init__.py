"""Talking to Ollama: the HTTP client, its typed errors, the hosts it may reach, aborting a
blocked read, the streamed reply read in batches straight from the socket, and where
Ollama listens (OLLAMA_HOST read as Ollama reads it).

Never imports any other family of the package, nor the top-level modules: it knows Ollama,
not the app around it."""
