"""What a new user tripped on when something goes wrong (issue 19): a failed message's
actions readable in both themes, a refused Unload that stays said, a guest told what a
guest may do (keep_alive capped, the Guest badge), Ollama down said plainly at the badge
and at Send, a parameter that is not a number, and long model names on two hosts."""

from __future__ import annotations

import json

import pytest

from ..support.fake_ollama import FakeOllama

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import (
    AXE,
    MODEL,
    expect,
    open_chat,
    open_settings,
    send,
    serious_violations,
    stored_reply,
)

LONG = "some-organisation/an-exceedingly-long-model-name-for-the-sidebar:latest-q4_K_M"


@pytest.fixture
def axe_tab(open_tab):
    """Open tabs with axe-core injected before the page's scripts (a test-only tool)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: scripts/test.sh installs it with npm")
    return lambda color_scheme="light": open_tab(color_scheme, init_script=str(AXE))


def guest_url(server) -> str:
    return f"{server.url}/?token={server.app.config['ACCESS_TOKEN']}"


def test_a_failed_messages_actions_are_readable_in_both_themes(axe_tab, live_server,
                                                                 fake_ollama):
    tab = axe_tab()
    open_chat(tab, live_server.url)
    fake_ollama.script(error_after=0, error_message="model runner crashed")
    send(tab, "this one fails")
    failed = tab.locator(".message.user[data-status='failed']")
    expect(failed.locator(".retry-button")).to_be_visible()
    expect(failed.locator(".copy-button")).to_be_visible()
    found = serious_violations(tab)
    assert found == [], json.dumps(found, indent=1)

    cookies = tab.context.cookies()  # the same chats, in the dark scheme
    dark = axe_tab("dark")
    dark.context.add_cookies(cookies)
    dark.goto(live_server.url)
    expect(dark.locator(".message.user[data-status='failed'] .copy-button")).to_be_visible()
    found = serious_violations(dark)
    assert found == [], json.dumps(found, indent=1)


def test_a_refused_unload_stays_beside_its_card_until_the_next_action(page, make_server,
                                                                     fake_ollama):
    server = make_server(HOST="0.0.0.0")
    open_chat(page, guest_url(server))
    send(page, "load it")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    card = page.locator(f"#loaded-models li.loaded-item[data-model='{MODEL}']")
    expect(card).to_have_count(1)
    server.services.usage.used("another-browser", MODEL)  # a guest may not take it away

    card.locator(".unload-button").click()
    refused = page.locator("[data-testid=unload-refused]")
    expect(refused).to_contain_text("Another browser is using")
    # The list was fetched again after the refusal (the card is back to "Unload"): the
    # reason is still there, right under the card.
    expect(card.locator(".unload-button")).to_have_text("Unload")
    expect(refused).to_be_visible()
    assert card.evaluate("(el) => el.nextElementSibling.dataset.testid") == "unload-refused"
    page.click("#refresh-loaded")  # the next action: read, so it goes
    expect(refused).to_have_count(0)


def test_a_guest_is_offered_only_the_keep_alive_it_may_choose_and_told_it_is_a_guest(
        page, make_server, live_server):
    server = make_server(HOST="0.0.0.0")
    open_chat(page, guest_url(server))
    badge = page.locator("[data-testid=role-badge]")
    expect(badge).to_have_text("Guest")
    assert "you can chat" in (badge.get_attribute("aria-label") or "")
    open_settings(page)
    page.click("#params-box summary")
    keep = page.locator("#p-keep_alive")
    for value in ("-1", "1h"):
        assert keep.locator(f"option[value='{value}']").evaluate("(o) => o.disabled")
    assert not keep.locator("option[value='30m']").evaluate("(o) => o.disabled")
    expect(page.locator("[data-testid=keep-alive-cap]")).to_have_text(
        "Capped at 30 min for guests.")

    open_chat(page, live_server.url)  # the admin (loopback): everything, and no badge
    open_settings(page)
    page.click("#params-box summary")
    assert not page.locator("#p-keep_alive option[value='-1']").evaluate("(o) => o.disabled")
    expect(page.locator("[data-testid=keep-alive-cap]")).to_have_count(0)
    expect(page.locator("[data-testid=role-badge]")).to_have_count(0)


def test_ollama_down_is_said_at_the_badge_and_at_send_once(page, live_server, fake_ollama):
    port = fake_ollama.port
    fake_ollama.stop()
    page.goto(live_server.url)
    expect(page.locator("#ollama-banner")).to_be_visible()
    expect(page.locator("#connection-status")).to_have_text(
        "Connected to WebChat · Ollama down")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("[data-testid=send-reason]")).to_contain_text("Ollama")
    page.fill("#prompt", "hello?")
    for _ in range(4):
        page.press("#prompt", "Enter")
    expect(page.locator("#prompt")).to_have_value("hello?")
    expect(page.locator(".note-error")).to_have_count(0)  # the banner says it, once

    with FakeOllama(port=port):
        expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15000)
        expect(page.locator("[data-testid=send-reason]")).to_be_hidden()


def test_a_parameter_that_is_not_a_number_is_flagged_and_said_at_the_composer(
        page, live_server):
    open_chat(page, live_server.url)
    send(page, "a first message")
    expect(stored_reply(page)).to_have_attribute("data-status", "ok")
    open_settings(page)
    page.click("#params-box summary")
    page.locator("#p-temperature").press_sequentially("1e")
    error = page.locator(".field-error[data-field='options.temperature']")
    expect(error).to_contain_text("Not a number")
    expect(page.locator("#p-temperature")).to_have_attribute("aria-invalid", "true")
    page.click("#settings-chip")  # the panel closed: the composer says it
    expect(page.locator("#settings-panel")).to_be_hidden()
    send(page, "with a bad temperature")
    reason = page.locator("[data-testid=send-reason]")
    expect(reason).to_contain_text("temperature in Parameters is not a number")
    expect(page.locator(".message.user")).to_have_count(1)
    expect(page.locator("#prompt")).to_have_value("with a bad temperature")

    open_settings(page)  # its Parameters section still open
    page.locator("#p-temperature").press("Backspace")  # "1": a number again
    expect(error).to_have_text("")
    page.press("#prompt", "Enter")
    expect(page.locator(".message.user")).to_have_count(2)
    expect(reason).to_be_hidden()  # the next success clears it

    page.fill("#p-temperature", "")
    page.locator("#p-temperature").press_sequentially("2e")  # not a number again
    expect(error).to_contain_text("Not a number")
    send(page, "bad once more")
    expect(reason).to_be_visible()
    page.click("#new-chat")  # another context: the stale line goes
    expect(page.locator(".message")).to_have_count(0)
    expect(reason).to_be_hidden()


def test_model_cards_name_the_whole_model_and_a_one_host_model_is_offered_once(
        page, make_server):
    gpu = FakeOllama()
    gpu.add_model(LONG)
    gpu.start()
    nas = FakeOllama()
    nas.remove_model("tiny-assistant:latest")
    nas.start()
    server = make_server(ollama_url=f"gpu={gpu.url},nas={nas.url}")
    try:
        page.goto(server.url)
        expect(page.locator("#connection-status")).to_have_text("Connected")
        tiny = page.locator("#model-select option", has_text="tiny-assistant:latest")
        expect(tiny).to_have_count(1)
        expect(tiny).to_have_text("tiny-assistant:latest (only on gpu)")
        expect(page.locator(f"#model-select option[value='{MODEL}@nas']")).to_have_count(1)

        name = page.locator(f"#installed-models li[data-model='{LONG}'] .model-name")
        expect(name).to_have_attribute("title", LONG)
        cut = "(el) => el.scrollWidth > el.clientWidth + 1"
        assert name.evaluate(cut)  # long enough to be cut in the sidebar
        page.locator(f"#installed-models li[data-model='{LONG}'] .model-pick").focus()
        assert not name.evaluate(cut)  # whole while the card has focus
    finally:
        server.stop()
        gpu.stop()
        nas.stop()
