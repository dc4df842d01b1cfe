"""Small things a new user tripped on (issue 19, item 17): a skip link to the message box
as the first Tab stop, a ring a keyboard user can find on the selects, a reply read out
sentence by sentence, and an empty chat that says what to do whatever is picked."""

from __future__ import annotations

from ..support.page import expect, open_chat, send, stored_reply


def test_the_first_tab_stop_skips_to_the_message_box(page, live_server):
    open_chat(page, live_server.url)
    # The page's tabbable elements in order (shown, not disabled, tabindex not -1): the
    # skip link comes first, and Shift+Tab from the second reaches it.
    first, second = page.evaluate("""() => {
        const all = [...document.querySelectorAll(
            'a[href], button, input, select, textarea, [tabindex]')];
        const tabbable = all.filter((el) => !el.disabled && el.tabIndex >= 0
            && el.getClientRects().length > 0);
        tabbable[1].focus();
        return [tabbable[0].dataset.testid || tabbable[0].id,
                tabbable[1].dataset.testid || tabbable[1].id];
    }""")
    assert first == "skip-link", (first, second)
    page.keyboard.press("Shift+Tab")
    skip = page.locator("[data-testid=skip-link]")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0  # shown while focused
    page.keyboard.press("Enter")
    expect(page.locator("#prompt")).to_be_focused()
    page.keyboard.type("straight here")
    expect(page.locator("#prompt")).to_have_value("straight here")
    # Not focused, it is out of sight (it covers nothing of the header).
    page.locator("#prompt").focus()
    hidden = skip.bounding_box()
    assert hidden is not None and hidden["y"] + hidden["height"] <= 0


def test_a_select_reached_by_the_keyboard_shows_a_solid_ring(page, live_server):
    open_chat(page, live_server.url)
    page.locator("#model-select").focus()
    page.keyboard.press("Shift+Tab")  # keyboard focus, so :focus-visible applies
    page.keyboard.press("Tab")
    expect(page.locator("#model-select")).to_be_focused()
    ring = page.locator("#model-select").evaluate(
        "(el) => { const s = getComputedStyle(el); "
        "return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert ring[0] == "solid" and ring[1] >= 2, ring


def test_a_reply_is_read_out_with_a_pause_between_its_blocks(page, live_server, fake_ollama):
    fake_ollama.script(tokens=["# Title\n\n", "First point\n\n", "- one\n", "- two"])
    open_chat(page, live_server.url)
    send(page, "say it")
    expect(stored_reply(page).locator(".message-content li")).to_have_count(2)
    expect(page.locator("#reply-announcer")).to_have_text(
        "Reply: Title. First point. one. two.")


def test_the_empty_chat_does_not_ask_for_a_pick_already_made(page, live_server):
    open_chat(page, live_server.url)  # a model is picked
    empty = page.locator(".chat-empty")
    expect(empty).to_contain_text("Write a message and press Enter")
    expect(empty).not_to_contain_text("Pick a model")


def test_copy_and_edit_step_aside_while_a_message_is_edited(page, live_server):
    open_chat(page, live_server.url)
    send(page, "first words")
    expect(stored_reply(page)).to_contain_text("You said: first words")
    mine = page.locator(".message.user").last
    mine.locator(".edit-button").click()
    expect(mine.locator(".edit-input")).to_be_focused()
    expect(mine.locator(".message-actions")).to_be_hidden()
    mine.locator(".edit-cancel").click()
    expect(mine.locator(".message-actions")).to_be_visible()
    expect(mine.locator(".edit-button")).to_be_visible()


def test_a_reply_awaited_shows_it_is_coming_until_its_first_token(page, live_server,
                                                                  fake_ollama):
    open_chat(page, live_server.url)
    send(page, "warm up")
    expect(stored_reply(page)).to_contain_text("You said: warm up")
    fake_ollama.script(tokens=[" late"], load_delay=3.0)  # warm, but slow to answer
    send(page, "slow one")
    typing = page.locator(".message.assistant.streaming .reply-typing")
    expect(typing).to_be_visible()
    assert typing.get_attribute("aria-label") == "gemma3:270m is writing"
    expect(stored_reply(page).locator(".message-content")).to_have_text("late")
    expect(page.locator(".reply-typing")).to_have_count(0)
