"""Retake the README's screenshots: docs/screenshot.png (desktop, 1280×800),
docs/phone.png (390×844) and docs/dark.png (the dark theme, settings open).

    python3 scripts/screenshots.py

The app runs on a free port against the stand-in Ollama (tests/support/fake_ollama.py), in
a fresh data folder, and Debian's Chromium takes the pictures through Playwright. Each
picture shows a short conversation, so what it shows is the layout, not a model's text.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_ollama import FakeOllama  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402

MODEL = "gemma3:270m"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
QUESTION = "Write a Python function that says hello, and explain it in one line."
SHOTS = [  # (file, viewport, colour scheme, settings panel open)
    ("screenshot.png", {"width": 1280, "height": 800}, "light", False),
    ("phone.png", {"width": 390, "height": 844}, "light", False),
    ("dark.png", {"width": 1280, "height": 800}, "dark", True),
]


def converse(page, url: str) -> None:
    """Open the chat, pick the model, send one question and wait for the whole reply."""
    page.goto(url)
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=30_000)
    expect(page.locator(f"#model-select option[value='{MODEL}']")).to_have_count(1)
    page.select_option("#model-select", MODEL)
    page.fill("#prompt", QUESTION)
    page.press("#prompt", "Enter")
    expect(page.locator(".message.assistant").last).not_to_have_class(
        "streaming", timeout=30_000)
    expect(page.locator("#chat-title")).not_to_have_text("New chat", timeout=30_000)


def main() -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("chromium is not installed (apt install chromium)")
    fake = FakeOllama().start()
    with tempfile.TemporaryDirectory() as data:
        server = LiveServer(Path(data), fake.url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
                for name, viewport, scheme, settings in SHOTS:
                    context = browser.new_context(viewport=viewport, color_scheme=scheme)
                    page = context.new_page()
                    converse(page, server.url)
                    if settings:  # a system prompt and one parameter: the chip says so
                        page.click("#settings-chip")
                        expect(page.locator("#settings-panel")).to_be_visible()
                        page.click("#system-box summary")
                        page.fill("#system-prompt", "You are a concise assistant.")
                        page.click("#system-save")
                        page.click("#params-box summary")
                        page.fill("#p-temperature", "0.3")
                        page.press("#p-temperature", "Tab")
                        expect(page.locator("#settings-summary")).to_have_text(
                            "System prompt · 1 change")
                    page.mouse.move(0, viewport["height"] - 1)
                    page.screenshot(path=str(ROOT / "docs" / name))
                    print(f"docs/{name}")
                    context.close()
                browser.close()
        finally:
            server.stop()
            fake.stop()


if __name__ == "__main__":
    main()
