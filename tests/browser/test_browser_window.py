"""In Chromium: a picked model is loaded before the first message; prompt timings under a
reply; the trim policy in the parameters panel, the marks and the inspector's reasons."""

from __future__ import annotations

import re

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import MODEL, expect, open_settings, send, stored_reply, type_into


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
    open_settings(page)
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


def test_marks_inspector_and_meter_count_tokens_against_the_real_limit(page, make_server,
                                                                       fake_ollama):
    """With num_ctx 120 the context, not the count rule, trims: the marks say so with the
    tokens and the limit, the inspector says what the request held and what Ollama read,
    and the meter reads the limit the server fitted the request to."""
    server = make_server(MAX_HISTORY=100, WINDOW_STEP=0)
    page.goto(server.url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    page.select_option("#model-select", MODEL)
    open_settings(page)
    page.click("#params-box summary")
    type_into(page, "#p-num_ctx", "120")
    type_into(page, "#p-num_predict", "10")
    page.locator("#p-num_predict").blur()
    for n in range(4):
        send(page, " ".join(f"word{n}x{k}" for k in range(20)))
        expect(stored_reply(page)).to_contain_text(f"word{n}x6")  # num_predict 10
    outside = page.locator(".message.out-of-context")
    expect(outside.first).to_be_visible()
    label = outside.first.locator(".context-label")
    expect(label).to_have_attribute("title", re.compile(
        r"the context \(120 tokens, num_ctx\).* \(\d+ tokens\)$"))
    expect(page.locator("#context-text")).to_contain_text("/ 120 tokens")
    stored_reply(page).locator(".inspect-button").click()
    summary = page.locator("#inspector-context")
    expect(summary).to_contain_text("Context: 120 tokens (num_ctx), 10 kept for the reply.")
    expect(summary).to_contain_text("Ollama read")
    expect(page.locator("#inspector-window li.window-sent").last).to_contain_text(
        re.compile(r"\d+ tokens$"))
