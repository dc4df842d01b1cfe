"""In Chromium: a picked model is loaded before the first message; prompt timings under a
reply; the trim policy in the parameters panel, the marks and the inspector's reasons."""

from __future__ import annotations

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import MODEL, expect, send, stored_reply


def test_pick_loads_the_model_and_the_window_is_explained(page, make_server, fake_ollama):
    fake_ollama.load_delay = 1.0  # long enough to see "loading…"
    server = make_server(MAX_HISTORY=2)
    page.goto(server.url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    expect(page.locator(f"#model-select option[value='{MODEL}']")).to_have_count(1)
    assert page.locator("#model-select").input_value() != MODEL  # so this is a pick
    expect(page.locator("#window-hint")).to_contain_text(
        "At least the last 2 messages + the system prompt")
    page.select_option("#model-select", MODEL)
    item = page.locator(f"#loaded-models li[data-model='{MODEL}']")
    expect(item).to_contain_text("loading…")
    expect(item).to_contain_text("expires")  # listed by /api/ps: loaded
    # Unload while it loads: the unload wins.
    page.select_option("#model-select", "tiny-assistant:latest")
    loading = page.locator("#loaded-models li[data-model='tiny-assistant:latest']")
    expect(loading).to_contain_text("loading…")
    loading.locator(".unload-button").click()
    expect(loading).to_have_count(0)
    assert "tiny-assistant:latest" not in fake_ollama.loaded_names()
    page.select_option("#model-select", MODEL)
    assert not [p for _, p, _ in fake_ollama.requests if p == "/api/chat"]
    assert fake_ollama.loaded_names() == [MODEL]

    send(page, "first question")
    stats = stored_reply(page).locator(".stats")
    expect(stats).to_contain_text("tokens/s")
    expect(stats).to_contain_text("prompt")
    expect(stats).to_contain_text("tokens read in")
    expect(stats).not_to_contain_text("load")  # it was loaded already
    send(page, "second question")
    expect(stored_reply(page)).to_contain_text("second question")
    # In steps (the default) both exchanges stay in the window; sliding drops one.
    expect(page.locator(".message.out-of-context")).to_have_count(0)
    page.click("#params-box summary")
    page.select_option("#p-trim", "sliding")
    outside = page.locator(".message.out-of-context")
    expect(outside).to_have_count(2)
    expect(outside.first.locator(".context-label")).to_have_attribute(
        "title", "Not sent: older than the last 2 messages")
    stored_reply(page).locator(".inspect-button").click()
    reasons = page.locator("#inspector-window li")
    expect(reasons).to_have_count(4)
    expect(reasons.last).to_contain_text("Sent: one of the last 2 messages")
    page.keyboard.press("Escape")
    page.reload()
    expect(page.locator("#p-trim")).to_have_value("sliding")
    # Opening the page on a conversation whose model is not loaded loads it too.
    loaded = page.locator(f"#loaded-models li[data-model='{MODEL}']")
    expect(loaded).to_contain_text("expires")
    loaded.locator(".unload-button").click()
    expect(loaded).to_have_count(0)
    assert fake_ollama.loaded_names() == []
    page.reload()
    expect(loaded).to_contain_text("loading…")
    expect(loaded).to_contain_text("expires")
    assert fake_ollama.loaded_names() == [MODEL]
