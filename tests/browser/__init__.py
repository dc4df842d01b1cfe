"""The page in real browsers: Chromium and Firefox through Playwright (each test in both,
by the `engine` fixture of tests/conftest.py) and a WebKit smoke test through Selenium."""
