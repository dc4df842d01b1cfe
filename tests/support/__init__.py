"""What the tests share: the stand-in Ollama (fake_ollama), the app on a real port and a
browser-like client (live), the real Ollama's address and helpers (real), the contract's
scenarios (contract), the browser engines (engines) and the page's helpers (page).

Never imports a test module: test modules and conftest.py import from here.
"""
