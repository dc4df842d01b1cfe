"""Versions of messages in Chromium: "‹ 2/3 ›" switches, what is sent follows, and an
export/import keeps every version."""

from __future__ import annotations

import json
import os

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.live import ROOT
from ..support.page import (
    expect,
    export_json_then_import,
    history_of,
    open_chat,
    send,
    stored_reply,
)

SCREENSHOT = ROOT / "docs" / "versions.png"



def edit_last_question(page, text: str) -> None:
    page.locator(".message.user .edit-button").last.click()
    editor = page.locator(".edit-input")
    editor.fill(text)
    editor.press("Enter")
    expect(stored_reply(page).locator(".message-content")).to_have_text(f"You said: {text}")


def test_edit_regenerate_and_switch_versions(page, live_server, fake_ollama,
                                             tmp_path):
    open_chat(page, live_server.url)
    for text in ("one", "two"):
        send(page, text)
        expect(stored_reply(page).locator(".message-content")).to_have_text(f"You said: {text}")
    edit_last_question(page, "deux")
    edit_last_question(page, "zwei")
    fake_ollama.script(tokens=["A", " fresh", " answer"])
    stored_reply(page).locator(".regenerate-button").click()
    expect(stored_reply(page).locator(".message-content")).to_have_text("A fresh answer")

    messages = page.locator(".message")
    expect(messages).to_have_count(4)  # the path in view, not every version
    question, answer = messages.nth(2), messages.nth(3)
    expect(question.locator(".versions")).to_have_attribute("aria-label", "Version 3 of 3")
    expect(question.locator(".version-label")).to_have_text("3/3")
    expect(answer.locator(".versions")).to_have_attribute("aria-label", "Version 2 of 2")
    expect(messages.nth(0).locator(".versions")).to_have_count(0)
    if os.environ.get("WEBCHAT_SCREENSHOT"):  # refresh the README's picture on request
        page.locator("#messages").screenshot(path=str(SCREENSHOT))

    # From the keyboard: the switcher keeps the focus as the conversation is redrawn.
    question.get_by_role("button", name="Previous version").focus()
    page.keyboard.press("Enter")
    expect(messages.nth(2).locator(".message-content")).to_have_text("deux")
    expect(messages.nth(3).locator(".message-content")).to_have_text("You said: deux")
    expect(messages.nth(2).locator(".versions")).to_have_attribute(
        "aria-label", "Version 2 of 3")
    expect(messages.nth(2).locator(".version-prev")).to_be_focused()
    page.keyboard.press("Enter")
    expect(messages.nth(2).locator(".message-content")).to_have_text("two")
    expect(messages.nth(2).locator(".version-prev")).to_be_disabled()
    expect(messages.nth(2).locator(".version-next")).to_be_focused()

    send(page, "three")  # goes on from the version in view
    expect(stored_reply(page).locator(".message-content")).to_have_text("You said: three")
    sent = fake_ollama.last_payload("/api/chat")
    assert [m["content"] for m in sent["messages"]] == [
        "one", "You said: one", "two", "You said: two", "three"]
    stored_reply(page).locator(".inspect-button").click()
    expect(page.locator("#inspector")).to_be_visible()
    assert json.loads(page.locator("#inspector-request").text_content()) == sent
    page.keyboard.press("Escape")

    shown = [m["content"] for m in history_of(page)["messages"]]
    export_json_then_import(page, tmp_path / "versions.json")
    expect(page.locator("#conversation-list li")).to_have_count(2)
    expect(messages.nth(2).locator(".versions")).to_have_attribute(
        "aria-label", "Version 1 of 3")
    copy = history_of(page)
    assert [m["content"] for m in copy["messages"]] == shown
    messages.nth(2).locator(".version-next").click()
    expect(messages.nth(2).locator(".message-content")).to_have_text("deux")
    expect(messages).to_have_count(4)

    # A search hit in a version not in view brings that version into view.
    page.keyboard.press("Control+k")
    page.locator("#search-input").fill("zwei")
    hits = page.locator("#search-results .search-open")
    expect(hits).to_have_count(4)  # the question and its reply, in both conversations
    hits.first.click()
    expect(page.locator(".message.user", has_text="zwei").locator(".versions")) \
        .to_have_attribute("aria-label", "Version 3 of 3")
