"""Nothing is lost by a click, in the page: Delete under the last reply and `/clear` say
so in the toast, and its Undo puts back every version (`Aside`,
webchat/store/conversations.py)."""

from __future__ import annotations

from ..support.page import expect, open_chat, send, stored_reply


def answered(page, text: str) -> None:
    send(page, text)
    expect(stored_reply(page).locator(".message-content")).to_have_text(f"You said: {text}")


def test_undo_brings_back_a_deleted_exchange_and_a_cleared_chat(page, live_server,
                                                               fake_ollama):
    open_chat(page, live_server.url)
    answered(page, "one")
    answered(page, "two")
    fake_ollama.script(tokens=["A", " second", " version"])
    stored_reply(page).locator(".regenerate-button").click()
    expect(stored_reply(page).locator(".message-content")).to_have_text("A second version")
    messages = page.locator(".message")
    expect(messages).to_have_count(4)

    stored_reply(page).locator(".delete-last-button").click()
    expect(messages).to_have_count(2)
    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator("#toast-text")).to_have_text("Exchange deleted.")
    page.click("#toast-action")
    expect(messages).to_have_count(4)
    expect(stored_reply(page).locator(".message-content")).to_have_text("A second version")
    expect(messages.nth(3).locator(".versions")).to_have_attribute(
        "aria-label", "Version 2 of 2")

    send(page, "/clear")
    expect(messages).to_have_count(0)
    expect(page.locator("#toast-text")).to_have_text("Conversation cleared.")
    page.click("#toast-action")
    expect(messages).to_have_count(4)
    expect(messages.nth(2).locator(".message-content")).to_have_text("two")
    expect(page.locator("#conversation-list li").first).to_contain_text("one")
