"""Tests against a real Ollama (../shared/real-ollama, started by scripts/test.sh): the app
through /ws and the API, the page with the real model, and the stand-in's contract."""
