"""Talking to Ollama: the HTTP client, its typed errors, the hosts it may reach, aborting a
blocked read, and the streamed reply read in batches straight from the socket.

Never imports any other family of the package, nor the top-level modules: it knows Ollama,
not the app around it."""
