"""The page in Chromium against a real Ollama: chat with the real model, unload it from
the sidebar. Its text is poor by design (a 270M base model): only behaviour is checked."""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # as in test_browser.py: a dev machine without it skips
    pytest.skip("the playwright Python package is not installed", allow_module_level=True)

from ..support.live import LiveServer
from ..support.page import open_chat, open_settings, send, stored_reply, type_into
from ..support.real import GEMMA, load, loaded_names, needs_real_ollama

pytestmark = needs_real_ollama

REPLY_WAIT_MS = 120_000  # a short reply on 2 busy cores
SIDEBAR_WAIT_MS = 15_000  # the loaded list is pushed after a reply, and every 5 s


def test_chat_with_the_real_model_then_unload_it_from_the_sidebar(
        page: Page, real_app: LiveServer) -> None:
    load(GEMMA)  # so the sidebar has it to show even before the reply ends
    open_chat(page, real_app.url)
    open_settings(page)
    page.click("#params-box summary")
    type_into(page, "#p-num_predict", "8")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")

    send(page, "Say hello.")
    reply = stored_reply(page)
    expect(reply).to_have_attribute("data-status", "ok", timeout=REPLY_WAIT_MS)
    expect(reply.locator(".message-content")).not_to_be_empty()
    expect(reply.locator(".stats")).to_contain_text(re.compile(r"\b[1-8] tokens"))
    expect(reply.locator(".stats")).to_contain_text("tokens/s")

    item = page.locator(f"#loaded-models li[data-model='{GEMMA}']")
    expect(item).to_contain_text("100% CPU", timeout=SIDEBAR_WAIT_MS)
    expect(item.locator(".model-expiry")).to_have_text(re.compile(r"expires in \d+:\d\d"))
    page.locator(f".unload-button[data-model='{GEMMA}']").click()
    expect(item).to_have_count(0, timeout=SIDEBAR_WAIT_MS)
    assert GEMMA not in loaded_names()
