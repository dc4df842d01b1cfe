"""What keeps a shared server safe: the access token and roles, the app's own names (DNS
rebinding), response headers, limits per address and per socket, body caps, odd JSON and ids
refused, secrets made once, the network addresses.

Never imports ollama, models, store, relay, api, ws, serve or services."""
