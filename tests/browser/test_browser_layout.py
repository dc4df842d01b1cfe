"""The layout gives the conversation the screen: a one-row header at every width, the
conversation's settings in a panel (a column on a wide screen, a sheet on a phone) opened
from the header's chip, a composer that grows with its text, native controls in the
theme's colours and a dialog backdrop that shows in the dark."""

from __future__ import annotations

import pytest

from ..support.page import expect, open_chat, open_settings, send, type_into

pytestmark = pytest.mark.browser

SIZES = [(390, 844), (1024, 768), (1280, 800)]
LONG = ("A conversation whose title is far too long for any header, about the colour of "
        "the sky at noon and at dusk, and why")

MEASURE = """() => {
    const box = (el) => el.getBoundingClientRect();
    const header = document.querySelector('.toolbar');
    const shown = [...header.querySelectorAll(':scope > *, .toolbar-end > *')]
        .filter((el) => el.getClientRects().length && !el.classList.contains('toolbar-end'));
    const title = document.getElementById('chat-title');
    return {
        messages: box(document.getElementById('messages')).height / innerHeight,
        header: box(header).height,
        tops: shown.map((el) => Math.round(box(el).top + box(el).height / 2)),
        clipped: title.scrollWidth > title.clientWidth,
        overflow: header.scrollWidth - header.clientWidth,
    };
}"""


def measure(page) -> dict:
    return page.evaluate(MEASURE)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_messages_get_the_screen_and_the_header_one_row(open_tab, live_server, size):
    width, height = size
    page = open_tab(viewport={"width": width, "height": height})
    open_chat(page, live_server.url)
    send(page, LONG)
    expect(page.locator("#chat-title")).not_to_have_text("New chat")
    got = measure(page)
    assert got["messages"] >= 0.70, got  # the conversation has the screen
    assert got["header"] <= 56, got  # one row: a wrapped header is twice that
    assert max(got["tops"]) - min(got["tops"]) <= 4, got  # every control on one line
    assert got["overflow"] <= 0, got  # nothing pushed out of the header
    assert got["clipped"], got  # the long title is cut with an ellipsis, not wrapped


def test_the_check_can_fail_on_a_wrapping_header(open_tab, live_server):
    page = open_tab(viewport={"width": 390, "height": 844})
    open_chat(page, live_server.url)
    page.evaluate("""() => {  // the header as it was: the title on a line of its own
        document.querySelector('.toolbar').style.flexWrap = 'wrap';
        document.getElementById('chat-title').style.flexBasis = '100%';
    }""")
    got = measure(page)
    assert got["header"] > 56 and max(got["tops"]) - min(got["tops"]) > 4, got


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_settings_panel_opens_from_the_chip_and_closes_with_escape(
        open_tab, live_server, size):
    width, height = size
    page = open_tab(viewport={"width": width, "height": height})
    open_chat(page, live_server.url)
    chip = page.locator("#settings-chip")
    panel = page.locator("#settings-panel")
    expect(panel).to_be_hidden()
    expect(chip).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#settings-summary")).to_have_text("Defaults")
    closed_width = page.locator("#messages").bounding_box()["width"]

    chip.click()
    expect(panel).to_be_visible()
    expect(chip).to_have_attribute("aria-expanded", "true")
    assert page.evaluate("document.getElementById('settings-panel')"
                         ".contains(document.activeElement)")
    box = panel.bounding_box()
    if width > 760:  # a column beside the messages, which make room for it
        assert box["x"] + box["width"] >= width - 1 and box["height"] >= height - 2, box
        assert page.locator("#messages").bounding_box()["width"] < closed_width - 200
    else:  # a sheet from the bottom edge
        assert abs(box["y"] + box["height"] - height) <= 1 and box["width"] >= width - 1, box

    page.click("#params-box summary")
    type_into(page, "#p-top_k", "7")
    expect(page.locator("#params-status")).to_have_text("Saved ✓")
    page.click("#system-box summary")
    page.fill("#system-prompt", "Be brief.")
    page.click("#system-save")
    expect(page.locator("#system-badge")).to_be_visible()
    expect(page.locator("#settings-summary")).to_have_text("System prompt · 1 change")
    if width <= 760:
        expect(page.locator("#settings-count")).to_have_text("2")
    else:  # the header still fits the narrower column, the long summary in it
        assert measure(page)["overflow"] <= 0, measure(page)

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(chip).to_have_attribute("aria-expanded", "false")
    expect(chip).to_be_focused()
    assert page.locator("#messages").bounding_box()["width"] == closed_width
    open_settings(page)
    page.click("#settings-close")
    expect(panel).to_be_hidden()
    expect(chip).to_be_focused()


def test_the_composer_grows_with_six_lines(page, live_server):
    """By itself where the engine has `field-sizing` (Chromium), by script where not
    (Firefox ESR, WebKit: static/js/composer.js)."""
    open_chat(page, live_server.url)
    prompt = page.locator("#prompt")
    before = prompt.bounding_box()["height"]
    page.fill("#prompt", "\n".join(f"line {i}" for i in range(1, 7)))  # input, no Enter
    page.wait_for_function("(h) => document.getElementById('prompt').offsetHeight > h + 40",
                           arg=before)
    page.fill("#prompt", "")  # emptied: the box is as it was
    page.wait_for_function("(h) => document.getElementById('prompt').offsetHeight <= h + 2",
                           arg=before)


def test_a_phone_gets_the_short_placeholder_and_no_hint(open_tab, live_server):
    phone = open_tab(viewport={"width": 390, "height": 844})
    phone.goto(live_server.url)
    expect(phone.locator("#prompt")).to_have_attribute("placeholder", "Message…")
    expect(phone.locator("#window-hint")).to_be_hidden()
    desktop = open_tab()
    desktop.goto(live_server.url)
    expect(desktop.locator("#prompt")).to_have_attribute(
        "placeholder", "Message… (Enter to send, Shift+Enter for a new line, /help for commands)")
    expect(desktop.locator("#window-hint")).to_be_visible()


SCHEME = """() => [getComputedStyle(document.documentElement).colorScheme,
                   getComputedStyle(document.getElementById('model-select')).colorScheme]"""
BACKDROP_ALPHA = """() => {
    const colour = getComputedStyle(document.getElementById('help-dialog'), '::backdrop')
        .backgroundColor;
    const parts = colour.match(/[\\d.]+/g).map(Number);
    return parts.length === 4 ? parts[3] : 1;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_native_controls_follow_the_theme_and_the_backdrop_shows(open_tab, live_server,
                                                                 scheme):
    page = open_tab(color_scheme=scheme)
    page.goto(live_server.url)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    assert page.evaluate(SCHEME) == [scheme, scheme]
    page.click("#help-button")
    expect(page.locator("#help-dialog")).to_be_visible()
    alpha = page.evaluate(BACKDROP_ALPHA)
    assert alpha >= (0.6 if scheme == "dark" else 0.4), alpha
    page.keyboard.press("Escape")
    # The toggle's set theme wins over the system's: system, light, dark.
    page.click("#theme-toggle")
    page.click("#theme-toggle")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert page.evaluate(SCHEME) == ["dark", "dark"]
