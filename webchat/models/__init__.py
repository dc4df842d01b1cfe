"""The models on the Ollama hosts: what is loaded (pushed to watching sockets), who uses
what (the fair unloads), preloads on pick and downloads.

Never imports store, relay, api, ws, guard, serve or services."""
