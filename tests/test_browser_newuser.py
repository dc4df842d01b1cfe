"""What a new user hit in the page (issue 13), in Chromium: a streaming conversation
that keeps its own history and settings, replies that outlive a reload and reach every
tab, readable buttons, wide tables, and states that clear."""

from __future__ import annotations

import re

import pytest

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from .test_browser import (  # noqa: F401
    CHROMIUM,
    browser,
    expect,
    history_of,
    last_reply,
    open_chat,
    page,
    send,
    stored_reply,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)"),
]

LIVE = ".message.assistant[data-id='0']"  # a reply drawn from its frames, not the history


def settings_of(tab, conversation: int) -> dict:
    return tab.evaluate(f"""() => fetch('api/conversations/{conversation}')
        .then(r => r.json()).then(c => c.settings)""")


def test_a_streaming_reply_keeps_its_conversation_survives_a_reload_and_reaches_tabs(
        page, live_server, fake_ollama):  # noqa: F811
    open_chat(page, live_server.url)
    page.click("#params-box summary")
    page.fill("#p-top_k", "7")
    page.press("#p-top_k", "Tab")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    send(page, "old question")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    first = history_of(page)["conversation"]

    fake_ollama.script(tokens=[" x"] * 250, delay=0.02)
    send(page, "long story")
    expect(page.locator(LIVE)).to_contain_text("x x")

    # Another conversation: it says where the reply runs; Send waits; no Stop here.
    page.click("#new-chat")
    status = page.locator("#reply-status")
    expect(status).to_contain_text("A reply is being written in “old question”")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#stop")).to_be_hidden()
    page.fill("#p-num_ctx", "512")
    page.press("#p-num_ctx", "Tab")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")

    # Go there: its own older messages, the live reply at the end, its own settings.
    page.click("#reply-go")
    expect(page.locator(".message.user").first).to_have_text(re.compile("old question"))
    expect(page.locator(LIVE)).to_contain_text("x x")
    expect(page.locator("#p-top_k")).to_have_value("7")
    expect(page.locator("#p-num_ctx")).to_have_value("")
    expect(page.locator("#stop")).to_be_visible()
    expect(status).to_be_hidden()
    page.fill("#p-temperature", "0.5")
    page.press("#p-temperature", "Tab")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    assert settings_of(page, first)["options"] == {"top_k": 7, "temperature": 0.5}

    # A second tab of the same browser sees the reply live (frames, not polling).
    other = page.context.new_page()
    other.goto(live_server.url)
    expect(other.locator(LIVE)).to_contain_text("x x")

    # A reload finds the reply still coming, then it ends as usual.
    page.reload()
    expect(page.locator(LIVE)).to_contain_text("x x")
    expect(page.locator(LIVE)).to_have_count(0, timeout=20000)
    expect(stored_reply(page)).to_contain_text("x x")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    expect(other.locator(LIVE)).to_have_count(0)
    expect(stored_reply(other)).to_contain_text("x x")
    assert fake_ollama.disconnects == 0

    # A reply the other tab starts shows here at once, and Stop there stops it.
    fake_ollama.script(tokens=[" y"] * 400, delay=0.02)
    send(other, "from the other tab")
    expect(page.locator(LIVE)).to_contain_text("y y")
    expect(page.locator(".message.user").last).to_have_text(re.compile("from the other tab"))
    other.click("#stop")
    expect(stored_reply(page)).to_have_attribute("data-status", "stopped")
    # What is known of a stopped reply: tokens, speed, first token.
    expect(stored_reply(page).locator(".stats")).to_contain_text(re.compile(r"\d+ tokens"))
    expect(stored_reply(page).locator(".stats")).to_contain_text("tokens/s")
    # The context meter keeps the last prompt count it knew.
    expect(page.locator("#context-box")).to_be_visible()
    other.close()
