"""Conversations in the page as a person moves between them: each keeps its own draft,
a new chat is stored only by its first message, a delete's Undo puts it back where it
was, and a second tab of the browser hears of renames and deletes (issue 19: 5, 9, 11,
12)."""

from __future__ import annotations

from ..support.page import expect, open_chat, open_settings, send, stored_reply

ITEMS = "#conversation-list li.conversation-item"


def answered(page, text: str) -> None:
    send(page, text)
    expect(stored_reply(page).locator(".message-content")).to_have_text(f"You said: {text}")


def new_chat_with(page, text: str) -> None:
    page.click("#new-chat")
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    answered(page, text)


def row(page, title: str):
    return page.locator(ITEMS, has_text=title)


def listed(page) -> list[dict]:
    return page.evaluate("() => fetch('api/conversations').then(r => r.json())"
                         ".then(b => b.conversations)")


def test_each_conversation_keeps_its_own_draft(page, live_server):
    open_chat(page, live_server.url)
    answered(page, "first chat")
    new_chat_with(page, "second chat")
    prompt = page.locator("#prompt")
    prompt.press_sequentially("half a thought")
    row(page, "first chat").locator(".conversation-open").click()
    expect(page.locator("#chat-title")).to_have_text("first chat")
    expect(prompt).to_have_value("")  # not carried here, where Enter would send it
    prompt.press_sequentially("another")
    row(page, "second chat").locator(".conversation-open").click()
    expect(prompt).to_have_value("half a thought")
    page.reload()  # kept across a reload too
    expect(page.locator("#connection-status")).to_have_text("Connected")
    expect(page.locator("#chat-title")).to_have_text("second chat")
    expect(prompt).to_have_value("half a thought")
    prompt.press("Enter")  # sent: gone from the drafts
    expect(stored_reply(page).locator(".message-content")).to_have_text(
        "You said: half a thought")
    row(page, "first chat").locator(".conversation-open").click()
    expect(prompt).to_have_value("another")
    row(page, "second chat").locator(".conversation-open").click()
    expect(page.locator("#chat-title")).to_have_text("second chat")
    expect(prompt).to_have_value("")


def test_a_new_chat_is_stored_only_by_its_first_message(page, live_server):
    open_chat(page, live_server.url)
    answered(page, "the only one")
    page.click("#new-chat")
    expect(page.locator("#messages")).to_contain_text("No messages yet")
    open_settings(page)  # the conversation's settings panel (the layout)
    page.select_option("#endpoint-select", "generate")  # a setting before any message
    page.click("#system-box summary")
    page.fill("#system-prompt", "Be brief.")
    page.click("#system-save")
    expect(page.locator("#system-status")).to_contain_text("Kept")
    page.click("#new-chat")  # still empty: no other one either
    expect(page.locator(ITEMS)).to_have_count(1)
    assert len(listed(page)) == 1
    send(page, "now it counts")  # on /api/generate, as chosen
    expect(stored_reply(page).locator(".tag")).to_have_text("/api/generate")
    expect(page.locator(ITEMS)).to_have_count(2)
    made = listed(page)[0]
    assert made["title"] == "now it counts"
    saved = page.evaluate(f"() => fetch('api/conversations/{made['id']}').then(r => r.json())")
    assert saved["settings"]["endpoint"] == "generate" and saved["system"] == "Be brief."


def test_undo_of_a_delete_puts_it_back_in_place_without_switching(page, live_server):
    open_chat(page, live_server.url)
    for text in ("Oldest one.", "Middle one.", "Newest one."):
        new_chat_with(page, text)
    expect(page.locator(ITEMS)).to_have_count(3)
    loads = []
    page.on("request", lambda r: loads.append(r.url) if "api/load" in r.url else None)
    row(page, "Middle one.").locator(".conversation-delete").click()
    expect(page.locator(ITEMS)).to_have_count(2)
    expect(page.locator("#toast-text")).to_have_text("Deleted “Middle one.”")  # one stop
    page.click("#toast-action")
    expect(page.locator(ITEMS)).to_have_count(3)
    titles = page.locator(f"{ITEMS} .conversation-title").all_text_contents()
    assert titles == ["Newest one.", "Middle one.", "Oldest one."]  # where it was
    expect(page.locator(f"{ITEMS}.current .conversation-title")).to_have_text(
        "Newest one.")  # no switch
    expect(page.locator("#chat-title")).to_have_text("Newest one.")
    answered(page, "still here")  # a round trip later: no load was asked meanwhile
    assert loads == []


def test_a_second_tab_hears_of_renames_and_deletes(page, live_server):
    open_chat(page, live_server.url)
    answered(page, "keep me")
    new_chat_with(page, "doomed")
    other = page.context.new_page()  # the same browser: its cookie and storage
    open_chat(other, live_server.url)
    expect(other.locator("#chat-title")).to_have_text("doomed")

    row(page, "keep me").locator(".conversation-rename").click()
    page.keyboard.type("Kept and renamed")
    page.keyboard.press("Enter")
    expect(row(other, "Kept and renamed")).to_have_count(1)  # pushed, not polled

    other.locator("#prompt").press_sequentially("words not sent")
    row(page, "doomed").locator(".conversation-delete").click()
    note = other.locator(".note", has_text="deleted in another tab")
    expect(note).to_have_count(1)
    expect(row(other, "doomed")).to_have_count(0)
    other.locator("#prompt").press("Enter")  # says so again, sends nothing
    expect(other.locator("#toast-text")).to_have_text("Deleted in another tab.")
    expect(other.locator("#prompt")).to_have_value("words not sent")
    expect(other.locator(".message.user")).to_have_count(1)
    other.click("#toast-action")  # Undo, from this tab
    expect(row(other, "doomed")).to_have_count(1)
    expect(note).to_have_count(0)
    expect(row(page, "doomed")).to_have_count(1)  # and the first tab hears of it
    other.locator("#prompt").press("Enter")
    expect(stored_reply(other).locator(".message-content")).to_have_text(
        "You said: words not sent")
    other.close()
